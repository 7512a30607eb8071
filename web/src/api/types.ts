/** The admin API's named schemas, generated (./schema.gen.ts): `Schemas['HrisDirectory']`. */
import type { components } from './schema.gen.ts';

export type Schemas = components['schemas'];

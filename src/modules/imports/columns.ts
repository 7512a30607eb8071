/**
 * Column mapping: which column of a roster holds which field of a Switchboard user.
 *
 * Headers are matched after folding case, accents and punctuation (`Correo electrónico`,
 * `CORREO ELECTRONICO` and `correo_electronico` are one header), against English and Spanish names
 * and their common variants. An admin's override wins over the organization's saved mapping,
 * which wins over automatic detection.
 */

/** The fields a column can fill. */
export const IMPORT_FIELDS = [
  'email',
  'given_name',
  'family_name',
  'name',
  'employee_id',
  'department',
  'title',
  'group',
] as const;
export type ImportField = (typeof IMPORT_FIELDS)[number];

/** What a column becomes: a field, a custom profile attribute (`custom:<key>`), or nothing. */
export type ColumnTarget = ImportField | `custom:${string}` | 'ignore';

/** Header variants per field, already folded (see `foldHeader`). */
const SYNONYMS: Record<ImportField, readonly string[]> = {
  email: [
    'email',
    'e mail',
    'mail',
    'email address',
    'e mail address',
    'mail address',
    'work email',
    'business email',
    'corporate email',
    'user email',
    'emailaddress',
    'correo',
    'correo electronico',
    'correo e',
    'correo corporativo',
    'correo laboral',
    'correo de trabajo',
    'email corporativo',
    'mail corporativo',
    'direccion de correo',
    'direccion de correo electronico',
    'direccion de email',
  ],
  given_name: [
    'first name',
    'firstname',
    'given name',
    'givenname',
    'forename',
    'first',
    'nombre',
    'nombres',
    'primer nombre',
    'nombre de pila',
  ],
  family_name: [
    'last name',
    'lastname',
    'surname',
    'family name',
    'familyname',
    'last',
    'apellido',
    'apellidos',
    'primer apellido',
  ],
  name: [
    'name',
    'full name',
    'fullname',
    'display name',
    'displayname',
    'nombre completo',
    'nombre y apellido',
    'nombre y apellidos',
    'apellido y nombre',
    'apellidos y nombre',
  ],
  employee_id: [
    'employee id',
    'employeeid',
    'employee number',
    'employee no',
    'employee',
    'emp id',
    'emp no',
    'staff id',
    'staff number',
    'worker id',
    'personnel number',
    'id empleado',
    'id de empleado',
    'numero de empleado',
    'numero empleado',
    'n de empleado',
    'no de empleado',
    'nro de empleado',
    'nro empleado',
    'codigo de empleado',
    'legajo',
    'numero de legajo',
    'matricula',
    'ficha',
  ],
  department: [
    'department',
    'dept',
    'departement',
    'division',
    'business unit',
    'area',
    'departamento',
    'depto',
    'unidad',
    'unidad de negocio',
    'gerencia',
  ],
  title: [
    'title',
    'job title',
    'jobtitle',
    'position',
    'role',
    'job',
    'cargo',
    'puesto',
    'titulo',
    'rol',
    'posicion',
  ],
  group: [
    'group',
    'groups',
    'cohort',
    'cohorts',
    'team',
    'program',
    'programme',
    'grupo',
    'grupos',
    'cohorte',
    'cohortes',
    'equipo',
    'programa',
  ],
};

const LOOKUP: Map<string, ImportField> = (() => {
  const map = new Map<string, ImportField>();
  for (const field of IMPORT_FIELDS) {
    for (const synonym of SYNONYMS[field]) {
      map.set(synonym, field);
      map.set(synonym.replaceAll(' ', ''), field);
    }
  }
  return map;
})();

/** Folds a header for comparison: no accents, lower case, punctuation and `_` as single spaces. */
export function foldHeader(header: string): string {
  return header
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .replace(/[º°ª]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/** The field a header names, if it is one of the known variants. */
export function detectField(header: string): ImportField | undefined {
  const folded = foldHeader(header);
  return LOOKUP.get(folded) ?? LOOKUP.get(folded.replaceAll(' ', ''));
}

/** The profile key an unmapped column is kept under: its folded header in snake_case. */
export function customKeyOf(header: string): string {
  return foldHeader(header).replaceAll(' ', '_').slice(0, 100);
}

export interface ResolvedColumn {
  index: number;
  header: string;
  target: ColumnTarget;
  /** Where the target came from: the upload's `mapping`, the saved mapping, detection, or none. */
  origin: 'override' | 'saved' | 'detected' | 'unmapped' | 'kept';
}

export class MappingError extends Error {
  readonly field: string;
  readonly fix: string;
  readonly code: string;
  constructor(code: string, message: string, field: string, fix: string) {
    super(message);
    this.code = code;
    this.field = field;
    this.fix = fix;
  }
}

const TARGET_PATTERN = /^(?:custom:[a-z0-9_]{1,100}|ignore)$/;

/** Checks a mapping target given by an admin (`email`, `custom:shirt_size`, `ignore`). */
export function isColumnTarget(value: string): value is ColumnTarget {
  return (IMPORT_FIELDS as readonly string[]).includes(value) || TARGET_PATTERN.test(value);
}

/**
 * Resolves every column of a header row. Each field goes to one column at most: when several
 * columns would fill the same field the first wins and the others are left unmapped (or kept), so
 * a file with both `Email` and `Correo` is not read twice. Override and saved keys are headers as
 * written in the file or folded; a key naming no column of the file is an error for an override
 * (a typo would otherwise be silently ignored) and ignored for the saved mapping.
 */
export function resolveColumns(
  headers: readonly string[],
  options: {
    override?: Record<string, string>;
    saved?: Record<string, string>;
    keepUnmapped: boolean;
  },
): ResolvedColumn[] {
  const folded = headers.map(foldHeader);
  const override = foldKeys(options.override ?? {});
  const saved = foldKeys(options.saved ?? {});
  for (const [key, target] of override) {
    if (!folded.includes(key)) {
      throw new MappingError(
        'mapping_unknown_column',
        `The mapping names a column "${key}" that the file does not have (its columns: ${headers.join(', ')}).`,
        `mapping.${key}`,
        'Use a header exactly as it appears in the first row of the file.',
      );
    }
    if (!isColumnTarget(target)) {
      throw new MappingError(
        'mapping_invalid_target',
        `"${target}" is not a field a column can fill.`,
        `mapping.${key}`,
        `Use one of ${IMPORT_FIELDS.join(', ')}, custom:<attribute> (lower case, digits, _), or ignore.`,
      );
    }
  }
  const taken = new Set<ColumnTarget>();
  const columns: ResolvedColumn[] = [];
  headers.forEach((header, index) => {
    const key = folded[index] ?? '';
    let target: ColumnTarget | undefined;
    let origin: ResolvedColumn['origin'] = 'unmapped';
    const fromOverride = override.get(key);
    const fromSaved = saved.get(key);
    if (fromOverride !== undefined) {
      target = fromOverride as ColumnTarget;
      origin = 'override';
    } else if (fromSaved !== undefined && isColumnTarget(fromSaved)) {
      target = fromSaved;
      origin = 'saved';
    } else {
      const detected = key ? detectField(header) : undefined;
      if (detected) {
        target = detected;
        origin = 'detected';
      }
    }
    if (target && target !== 'ignore' && !target.startsWith('custom:') && taken.has(target)) {
      if (origin === 'override') {
        throw new MappingError(
          'mapping_duplicate_target',
          `Two columns are mapped to ${target}.`,
          `mapping.${key}`,
          'Map each field to one column; set the other to ignore.',
        );
      }
      target = undefined;
      origin = 'unmapped';
    }
    if (!target) {
      if (options.keepUnmapped && key) {
        target = `custom:${customKeyOf(header)}`;
        origin = 'kept';
      } else {
        target = 'ignore';
      }
    }
    if (target !== 'ignore') taken.add(target);
    columns.push({ index, header, target, origin });
  });
  return columns;
}

function foldKeys(record: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(record).map(([key, value]) => [foldHeader(key), value]));
}

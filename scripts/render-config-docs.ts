/** Rewrites the configuration table in README.md from src/config.ts (`npm run docs:config`). */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigMarkdown } from '../src/config.ts';

const path = new URL('../README.md', import.meta.url);
const readme = readFileSync(path, 'utf8');
const start = '<!-- config:start -->';
const end = '<!-- config:end -->';
const before = readme.slice(0, readme.indexOf(start) + start.length);
const after = readme.slice(readme.indexOf(end));
if (!readme.includes(start) || !readme.includes(end)) throw new Error('README.md has no config markers');
writeFileSync(path, `${before}\n${renderConfigMarkdown()}\n${after}`);
console.log('README.md configuration table updated.');

export { CommandError, runImportCommand } from './cli-client.ts';
export { foldHeader, IMPORT_FIELDS, type ImportField } from './columns.ts';
export * from './contracts.ts';
export { escapeFormula } from './report-csv.ts';
export { importRoutes } from './routes/imports.ts';
export { IMPORT_QUEUE, ImportService, toImportView, type UploadPart } from './service.ts';

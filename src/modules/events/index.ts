export { cliActor } from './actors.ts';
export * from './audit.ts';
export { type ChangeSet, diffViews, sameValue } from './changes.ts';
export * from './contracts.ts';
export { AUDIT_CSV_MAX_ROWS, auditRoutes } from './routes/audit.ts';
export { eventRoutes } from './routes/events.ts';
export { type ConsumerOptions, type EventHandler, EventLog, parseTypeFilter } from './service.ts';

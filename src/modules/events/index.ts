export * from './contracts.ts';
export { eventRoutes } from './routes/events.ts';
export { type ConsumerOptions, type EventHandler, EventLog, parseTypeFilter } from './service.ts';

export * from './contracts.ts';
export { overviewRoutes } from './routes/overview.ts';
export { DIRECTORY_STALE_AFTER_MS, OverviewService } from './service.ts';

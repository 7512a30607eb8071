export * from './contracts.ts';
export * from './directories-contracts.ts';
export { DirectoriesService, type DirectoryPrincipal, type DirectoryRow } from './directories-service.ts';
export { directoryRoutes } from './routes/directories.ts';
export { groupRoutes } from './routes/groups.ts';
export { userRoutes } from './routes/users.ts';
export {
  DirectoryService,
  toGroupView,
  toUserView,
  type UserChangeOptions,
  type WriteContext,
} from './service.ts';

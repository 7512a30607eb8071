export * from './contracts.ts';
export { groupRoutes } from './routes/groups.ts';
export { userRoutes } from './routes/users.ts';
export { DirectoryService, type UserChangeOptions, type WriteContext, toGroupView, toUserView } from './service.ts';

export * from './contracts.ts';
export { groupRoutes } from './routes/groups.ts';
export { userRoutes } from './routes/users.ts';
export {
  DirectoryService,
  toGroupView,
  toUserView,
  type UserChangeOptions,
  type WriteContext,
} from './service.ts';

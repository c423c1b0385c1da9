export * from './status';
export * from './input';
export * from './activity-timeouts';
export * from './state';
export * from './idempotency';
export * from './own-rows';
export * from './refresh-batch';

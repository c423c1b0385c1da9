export * from './status';
export * from './input';
export * from './state';
export * from './idempotency';
export * from './own-rows';
export * from './refresh-batch';

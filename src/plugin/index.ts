/**
 * The Temporal plugin (`policy-execution/plugin`): the worker plugin, the client plugin, their
 * options and the search attributes the workflow needs (docs/temporal-plugin.md).
 */
export { PolicyExecutionPlugin, PLUGIN_NAME } from './worker-plugin';
export { PolicyExecutionClientPlugin, type PolicyExecutionClientPluginOptions } from '../client/plugin';
export type {
  PolicyExecutionPluginOptions,
  PolicyApiOptions,
  ModelRefreshOptions,
  DbtWorkerOptions,
  PluginLogger,
} from './options';
export { pluginOptionsFromEnv } from './env';
export { SEARCH_ATTRIBUTES, searchAttributeCommands } from './search-attributes';
export type { WarehouseConfig } from '../warehouse/factory';
export type { SnowflakeSettings } from '../warehouse/snowflake/config';
export type { BreakerOptions } from '../activities';

export { ConfigError, loadConfig, redactConfig, type LoadConfigInput } from './load.ts'
export { type Config, type ConfigInput, ConfigSchema, DEFAULT_SUBSCRIPTION_ID, DEFAULT_TENANT_ID } from './schema.ts'

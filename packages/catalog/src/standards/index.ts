export * from './apply.js';
export * from './asyncapi.js';
export * from './odcs.js';
export * from './odps.js';
export * from './openlineage.js';
export * from './register.js';
export * from './runs.js';
export * from './schemas.js';

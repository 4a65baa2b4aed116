export { GRAPH_ERRORS, GraphError, type GraphErrorCode } from './errors.ts'
export { type GraphDeps, type GraphOptions, createGraphApp } from './routes.ts'

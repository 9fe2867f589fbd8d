// The Redis client is a module of its own (a program that needs only Redis links `WorkermanRedis`);
// re-exported here so code that imported it through the Components module keeps compiling.
@_exported import WorkermanRedis

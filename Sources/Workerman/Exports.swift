// The umbrella module: `import Workerman` brings in every layer.
@_exported import WorkermanEventLoop

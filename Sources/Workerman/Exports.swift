// The umbrella module: `import Workerman` brings in every layer.
@_exported import WorkermanEventLoop
@_exported import WorkermanTransport
@_exported import WorkermanProtocols
@_exported import WorkermanProcess
@_exported import WorkermanComponents

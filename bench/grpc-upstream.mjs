// The upstream for bench/grpc.ts: a @grpc/grpc-js server with one unary method that answers a
// 250-byte message, bytes in and bytes out (no codec); prints its port.
import * as grpc from '@grpc/grpc-js';

const raw = { requestSerialize: (b) => b, requestDeserialize: (b) => b, responseSerialize: (b) => b, responseDeserialize: (b) => b };
const REPLY = Buffer.alloc(250, 7);
const server = new grpc.Server();
server.addService({ Say: { path: '/bench.Echo/Say', requestStream: false, responseStream: false, ...raw } }, { Say: (_call, cb) => cb(null, REPLY) });
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`${port}\n`);
});

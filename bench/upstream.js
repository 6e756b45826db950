#!/usr/bin/env node
// The upstream of the benchmark chains, in a process of its own so that it never shares an event
// loop with the load generator. Two listeners on 127.0.0.1:
//   echo: writes back every byte it reads (ping-pong, connection setup, held connections);
//   sink: reads and discards, and writes one byte back per MiB received (one-direction bulk).
// Prints {"echo":port,"sink":port} on stdout once both listen; exits on SIGTERM or when stdin closes.
'use strict';
const net = require('node:net');

const MIB = 1024 * 1024;

function listen(onConnection) {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    onConnection(socket);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function main() {
  const echo = await listen((socket) => socket.pipe(socket));
  const sink = await listen((socket) => {
    let received = 0;
    let acked = 0;
    socket.on('data', (chunk) => {
      received += chunk.length;
      const due = Math.floor(received / MIB) - acked;
      if (due > 0) {
        socket.write(Buffer.alloc(due, 0x6b));
        acked += due;
      }
    });
    socket.on('end', () => socket.end());
  });
  process.stdout.write(`${JSON.stringify({ echo: echo.address().port, sink: sink.address().port })}\n`);
  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop); // the bench died: do not outlive it
  process.stdin.resume();
}

main();

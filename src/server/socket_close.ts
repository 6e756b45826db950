import type * as net from 'node:net';
import type { SocketInterface } from '../network/socket_interface';

// closing() is called at most once per socket, however many paths lead to its close.
const closingNotified = new WeakSet<net.Socket>();

/** Tells the socket interface that the socket is about to close (once per socket). */
export function notifyClosing(socketInterface: SocketInterface, socket: net.Socket): void {
  if (closingNotified.has(socket)) return;
  closingNotified.add(socket);
  socketInterface.closing(socket);
}

/** closing() then destroy(): the socket closes now, unsent data is dropped. */
export function destroySocket(socketInterface: SocketInterface, socket: net.Socket): void {
  if (socket.destroyed) return;
  notifyClosing(socketInterface, socket);
  socket.destroy();
}

/** closing() then a FIN once queued data is flushed, then close: no reset for the peer. */
export function closeSocketGracefully(socketInterface: SocketInterface, socket: net.Socket): void {
  if (socket.destroyed) return;
  notifyClosing(socketInterface, socket);
  socket.destroySoon();
}

// A TCP proxy between a store client and its server, for lost-reply tests: it forwards bytes both
// ways and, when told, swallows exactly the next reply from the server and cuts that connection.
// The server has then done the work (its reply was on the way) while the client never hears of
// it: the shape of a network that fails between "executed" and "answered".

import { createServer, connect, type Server, type Socket } from 'net';

export interface TcpProxy {
	host: string;
	port: number;
	/**
	 * The next bytes a server sends after this call are dropped, and that client connection is cut
	 * (both sides). With `after`, only the reply that follows the next request containing that text
	 * (ioredis writes command names in lower case: 'eval' matches EVAL and EVALSHA) is dropped. Resolves when it happened, with the number of bytes dropped.
	 */
	dropNextReply(after?: string): Promise<number>;
	/** Connections accepted so far. */
	readonly connections: number;
	/** Replies dropped so far. */
	readonly drops: number;
	/**
	 * From now on the bytes servers send are held back, not forwarded, until release() (a network
	 * that stalls one way: e.g. a replication stream that stops reaching its replica).
	 */
	hold(): void;
	/** Forwards what was held, and everything after (also what stallAfter held). */
	release(): void;
	/**
	 * The next connection that sends a request containing `after` gets no more bytes from the
	 * server from then on (its reply and everything after it are held until release()): one
	 * connection that stalls while the others go on.
	 */
	stallAfter(after: string): void;
	/** New connections go to another server (a failover behind one address); open ones stay. */
	retarget(host: string, port: number): void;
	/** Cuts every open connection (both sides), as a network or server restart would; keeps listening. Returns how many. */
	cutAll(): number;
	close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
	const sockets = new Set<Socket>();
	let armed: { after: string | null; done: (bytes: number) => void } | null = null;
	let connections = 0;
	let drops = 0;
	/** Held server bytes, per client socket, while hold() is on; null = forwarding. */
	let held: Map<Socket, Buffer[]> | null = null;
	let stallArmed: string | null = null;
	/** Server bytes held for the connections stallAfter stalled. */
	const stalled = new Map<Socket, Buffer[]>();
	const target = { host: targetHost, port: targetPort };

	const server: Server = createServer((client) => {
		connections++;
		const upstream = connect(target.port, target.host);
		sockets.add(client);
		sockets.add(upstream);
		const cut = () => {
			client.destroy();
			upstream.destroy();
		};
		client.on('error', cut);
		upstream.on('error', cut);
		client.on('close', () => {
			sockets.delete(client);
			upstream.destroy();
		});
		upstream.on('close', () => {
			sockets.delete(upstream);
			client.destroy();
		});
		// The drop that this connection's next reply is for, once its request went through.
		let dropping: ((bytes: number) => void) | null = null;
		client.on('data', (chunk) => {
			if (stallArmed !== null && chunk.includes(stallArmed)) {
				stallArmed = null;
				stalled.set(client, []);
			}
			if (armed && (armed.after === null || chunk.includes(armed.after))) {
				dropping = armed.done;
				armed = null;
			}
			upstream.write(chunk);
		});
		upstream.on('data', (chunk) => {
			if (!dropping && armed && armed.after === null) {
				dropping = armed.done;
				armed = null;
			}
			if (dropping) {
				const done = dropping;
				dropping = null;
				drops++;
				cut();
				done(chunk.length);
				return;
			}
			const stalledChunks = stalled.get(client);
			if (stalledChunks) {
				stalledChunks.push(chunk);
				return;
			}
			if (held) {
				held.set(client, [...(held.get(client) ?? []), chunk]);
				return;
			}
			client.write(chunk);
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as { port: number };

	return {
		host: '127.0.0.1',
		port,
		get connections() {
			return connections;
		},
		get drops() {
			return drops;
		},
		retarget: (host: string, port: number) => {
			target.host = host;
			target.port = port;
		},
		hold: () => {
			held ??= new Map();
		},
		stallAfter: (after: string) => {
			stallArmed = after;
		},
		release: () => {
			for (const [client, chunks] of stalled) for (const chunk of chunks) if (!client.destroyed) client.write(chunk);
			stalled.clear();
			const waiting = held;
			held = null;
			for (const [client, chunks] of waiting ?? []) for (const chunk of chunks) if (!client.destroyed) client.write(chunk);
		},
		cutAll: () => {
			const open = [...sockets];
			for (const socket of open) socket.destroy();
			return open.length;
		},
		dropNextReply: (after?: string) =>
			new Promise<number>((resolve) => {
				armed = { after: after ?? null, done: resolve };
			}),
		close: () =>
			new Promise<void>((resolve) => {
				for (const socket of sockets) socket.destroy();
				server.close(() => resolve());
			}),
	};
}

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
	/** Cuts every open connection (both sides), as a network or server restart would; keeps listening. Returns how many. */
	cutAll(): number;
	close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
	const sockets = new Set<Socket>();
	let armed: { after: string | null; done: (bytes: number) => void } | null = null;
	let connections = 0;
	let drops = 0;

	const server: Server = createServer((client) => {
		connections++;
		const upstream = connect(targetPort, targetHost);
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

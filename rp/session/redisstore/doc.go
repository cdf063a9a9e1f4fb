// Package redisstore keeps the relying party's shared state in Redis, so
// that an application using oidcrp can run as many replicas behind a load
// balancer: a login on one replica is a session on all, a logout or a
// back-channel logout on one ends the session everywhere, and only one
// replica at a time refreshes a session's tokens, so a rotated refresh
// token is never lost.
//
// One [Store] provides every piece, over a go-redis client
// (github.com/redis/go-redis/v9):
//
//   - [session.Backend] for a [session.ServerStore]: the cookie carries
//     only the session ID; the record lives in Redis under the SHA-256 of
//     the ID, with a TTL at the end of the session's absolute lifetime,
//     sealed with AES-256-GCM when [Options.Codec] is set. Loading a
//     session is one round trip (HGET).
//   - [session.Indexer]: sets of record keys per (issuer, sid) and
//     (issuer, subject), for OpenID Connect Back-Channel Logout 1.0 §2.7.
//   - [session.Locker]: a lease with SET NX PX and a random token,
//     released by a Lua compare-and-delete.
//   - [Store.Revocations] and [Store.ReplayCache]: [session.Revocations]
//     and [session.ReplayCache] as keys with a TTL; Seen is an atomic
//     SET NX.
//   - [Store.CredentialStore]: a [registration.CredentialStore] that is
//     also a [registration.Locker], so that replicas booting at once
//     register one client with [registration.Ensure].
//
// Missing, expired and garbled records are "not found" (nil, nil); when
// Redis is unreachable every method returns an error promptly (the
// relying party answers 503) and the client reconnects by itself once
// Redis is back. Use [NewClient] or the Recommended* settings so that
// "promptly" means about a second. Redis 7.0 or later is required;
// Redis Cluster works (every Lua script touches a single key).
//
// # Example
//
//	client, err := redisstore.NewClient(os.Getenv("REDIS_URL"))
//	if err != nil {
//		return err
//	}
//	defer client.Close()
//	codec, err := session.NewCodec(sessionKey) // seals records at rest
//	if err != nil {
//		return err
//	}
//	rs, err := redisstore.New(redisstore.Options{Client: client, Codec: codec})
//	if err != nil {
//		return err
//	}
//	cfg := rp.Config{
//		// ...
//		Store:       session.NewServerStore(rs, session.CookieOptions{Secure: true}),
//		Revocations: rs.Revocations(),
//		ReplayCache: rs.ReplayCache(),
//		Locker:      rs, // one refresh per session across replicas
//	}
//
//	// At boot, with self-registration:
//	creds, err := registration.Ensure(ctx, registration.Options{
//		Metadata: md,
//		Issuer:   issuer,
//		Store:    rs.CredentialStore("default"),
//	})
package redisstore

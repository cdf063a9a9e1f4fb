// Package session holds the relying party's typed session record and the
// stores that keep it between requests.
//
// A [Session] records who is logged in (issuer, subject, the provider's
// session ID), the tokens the relying party holds, and the two times that
// bound its life: CreatedAt for the absolute lifetime and LastSeen for an
// idle timeout. It has a compact, versioned, strict binary encoding
// ([Session.MarshalBinary]) — no gob, no JSON, no maps.
//
// A [Store] loads and saves the session of an HTTP request. Missing,
// expired and tampered sessions are not errors: Load returns (nil, nil).
// The implementations:
//
//   - [CookieStore]: stateless; the session, sealed with a [Codec]
//     (AES-256-GCM, HKDF-derived rotating keys), is the cookie, split into
//     chunks when large. The raw ID token rides in a second cookie scoped
//     to the logout path. Loading is the hot path of every authenticated
//     request and is built for it: one pass over the Cookie header, base64
//     decoding into a pooled buffer, in-place decryption, and a single
//     string from which every field is sliced (two allocations).
//   - [ServerStore]: the cookie holds only the session ID; the record lives
//     in a [Backend]: [MemoryBackend], [FileStore] (sealed files, in-memory
//     cache and index) or a shared backend such as Redis.
//   - [GorillaStore]: an adapter for any gorilla/sessions store.
//
// Optional abilities are found by type assertion: [IDDeleter] (end a
// session by ID), [Indexer] (end all sessions of a provider session or a
// subject, for back-channel logout) and [Locker] (serialize token
// refreshes). Stateless cookie sessions are ended with [Revocations]
// instead; [ReplayCache] rejects a logout token seen before. Both have
// size-bounded in-memory implementations.
//
// Every cookie is HttpOnly, SameSite=Lax and host-only, and Secure when
// [CookieOptions.Secure] is set (RFC 6265 §4.1.2). Sealed values bind the
// cookie name as GCM additional data (NIST SP 800-38D), so one cookie
// cannot stand in for another.
//
// # Example
//
// A cookie store with one new and one old secret, used by a handler:
//
//	codec, err := session.NewCodec(newSecret, oldSecret)
//	if err != nil {
//		return err
//	}
//	store := session.NewCookieStore(codec, session.CookieOptions{Secure: true})
//
//	// at the end of login:
//	id, err := session.NewID()
//	if err != nil {
//		return err
//	}
//	s := &session.Session{ID: id, Issuer: iss, Subject: sub, SID: sid,
//		IDToken: rawIDToken, AccessToken: tok.AccessToken,
//		TokenType: tok.TokenType, RefreshToken: tok.RefreshToken,
//		Expiry: tok.Expiry, ClaimsJSON: string(claims)}
//	if err := store.Save(w, r, s); err != nil {
//		return err
//	}
//
//	// on every later request:
//	s, err = store.Load(r)
//	if err != nil {
//		return err // a system failure
//	}
//	if s == nil {
//		// not logged in
//	}
package session

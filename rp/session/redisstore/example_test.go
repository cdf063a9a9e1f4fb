package redisstore_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"time"

	"github.com/oidcrp/oidcrp/registration"
	"github.com/oidcrp/oidcrp/rp/session"
	"github.com/oidcrp/oidcrp/rp/session/redisstore"
)

// Every replica builds the same Store over the same Redis; sessions,
// logouts, refresh locks and replay checks are then shared.
func ExampleNew() {
	client, err := redisstore.NewClient("redis://127.0.0.1:6379/0")
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	codec, err := session.NewCodec(bytes.Repeat([]byte{1}, 32)) // use 32 random bytes, the same on every replica
	if err != nil {
		log.Fatal(err)
	}
	rs, err := redisstore.New(redisstore.Options{Client: client, Codec: codec})
	if err != nil {
		log.Fatal(err)
	}

	// The session store, and the caches and lock for rp.Config (Store,
	// Revocations, ReplayCache, Locker).
	store := session.NewServerStore(rs, session.CookieOptions{Secure: true, MaxAge: 12 * time.Hour})
	var (
		revocations session.Revocations = rs.Revocations()
		replay      session.ReplayCache = rs.ReplayCache()
		locker      session.Locker      = rs
	)
	_, _, _ = revocations, replay, locker

	// A back-channel logout ends the provider session on every replica.
	ctx := context.Background()
	n, err := store.DeleteBySID(ctx, "https://id.example.com/", "08a5019c")
	if err != nil {
		log.Print(err) // Redis unreachable: answer 503 so the provider retries
		return
	}
	fmt.Println("sessions ended:", n)
}

// Replicas that self-register at boot share their credentials and a lock,
// so that they register one client between them.
func ExampleStore_CredentialStore() {
	client, err := redisstore.NewClient("redis://127.0.0.1:6379/0")
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	rs, err := redisstore.New(redisstore.Options{Client: client})
	if err != nil {
		log.Fatal(err)
	}
	creds, err := registration.Ensure(context.Background(), registration.Options{
		Metadata: &registration.Metadata{
			ClientName:   "my app",
			RedirectURIs: []string{"https://app.example/callback"},
		},
		Issuer: "https://id.example.com/",
		Store:  rs.CredentialStore("default"),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(creds.ClientID)
}

package credentials_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"golang.org/x/oauth2"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/userinfo/credentials"
)

func ExampleLoadOrCreateHolderKey() {
	dir, err := os.MkdirTemp("", "holder")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "holder.pem")

	created, err := credentials.LoadOrCreateHolderKey(path) // generates and stores a P-256 key
	if err != nil {
		log.Fatal(err)
	}
	loaded, err := credentials.LoadOrCreateHolderKey(path) // reads the same key back
	if err != nil {
		log.Fatal(err)
	}
	st, _ := os.Stat(path)
	did, _ := credentials.DIDJWK(created.Public())
	same, _ := credentials.DIDJWK(loaded.Public())
	fmt.Printf("%T %v %v\n", created, st.Mode().Perm(), did == same)
	// Output: *ecdsa.PrivateKey -rw------- true
}

// Asking for a credential right after the login: the token response of a
// login with the userinfo_credential_draft_00 scope carries a nonce.
func ExampleClient_Request() {
	ctx := context.Background()
	var (
		provider *discovery.Provider // from discovery.New, shared with the rest of the app
		token    *oauth2.Token       // from the code exchange
	)
	holder, err := credentials.LoadOrCreateHolderKey("/var/lib/app/holder.pem")
	if err != nil {
		log.Fatal(err)
	}
	vc, err := credentials.New(credentials.Config{Provider: provider, Holder: holder})
	if err != nil {
		log.Fatal(err)
	}
	nonce, _ := token.Extra("c_nonce_draft_00").(string) // empty: Request asks for one
	cred, err := vc.Request(ctx, token.AccessToken, nonce)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cred.CredentialSubject["email"], cred.Expiry)
	// The credential (cred.Raw) goes to a verifier, which checks its
	// signature with the provider's keys and that its presenter holds the
	// key named by cred.Subject:
	holderKey, err := credentials.ParseDIDJWK(cred.Subject)
	fmt.Println(holderKey, err)
}

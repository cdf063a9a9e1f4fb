package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"

	"github.com/oidcrp/oidcrp/discovery"
)

// finding is one thing a relying party misses at a provider.
type finding struct {
	// Member is the metadata member concerned.
	Member string `json:"member"`
	// Problem says what is missing and what it means.
	Problem string `json:"problem"`
}

// discoverReport is what discover prints.
type discoverReport struct {
	Issuer   string              `json:"issuer"`
	Findings []finding           `json:"findings"`
	Metadata *discovery.Metadata `json:"metadata"`
}

func runDiscover(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("discover", "[flags] ISSUER", stderr)
	insecure := fs.Bool("insecure-allow-http", false, "allow plain http to hosts that are not loopback (never in production)")
	timeout := fs.Duration("timeout", defaultTimeout, "give up after this long")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return usageError(fs, stderr, "exactly one issuer URL is required")
	}
	issuer := fs.Arg(0)
	ctx, cancel := withTimeout(ctx, *timeout)
	defer cancel()
	p, err := discovery.New(discovery.Config{
		Issuer:            issuer,
		InsecureAllowHTTP: *insecure,
		Logger:            slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return usageError(fs, stderr, "%v", err)
	}
	defer p.Close()
	md, err := p.Metadata(ctx)
	if err != nil {
		return fail(stderr, "discover", err)
	}
	report := discoverReport{Issuer: issuer, Findings: findings(md), Metadata: md}
	if err := printJSON(stdout, report); err != nil {
		return fail(stderr, "discover", err)
	}
	return exitOK
}

// findings lists what a relying party built with oidcrp misses in md.
// Metadata that failed discovery's validation never gets here.
func findings(md *discovery.Metadata) []finding {
	out := []finding{}
	add := func(member, format string, a ...any) {
		out = append(out, finding{Member: member, Problem: fmt.Sprintf(format, a...)})
	}
	switch {
	case len(md.CodeChallengeMethodsSupported) == 0:
		add("code_challenge_methods_supported", "absent: the provider does not say it supports PKCE with S256 (RFC 7636); login sends it anyway")
	case !slices.Contains(md.CodeChallengeMethodsSupported, "S256"):
		add("code_challenge_methods_supported", "lacks S256: PKCE (RFC 7636) as oidcrp does it is not supported")
	}
	if !slices.Contains(md.ResponseTypesSupported, "code") {
		add("response_types_supported", `lacks "code": the authorization code flow is not supported`)
	}
	if len(md.GrantTypesSupported) > 0 {
		for _, g := range []string{"authorization_code", "refresh_token"} {
			if !slices.Contains(md.GrantTypesSupported, g) {
				add("grant_types_supported", "lacks %q", g)
			}
		}
	}
	if len(md.ScopesSupported) > 0 && !slices.Contains(md.ScopesSupported, "offline_access") {
		add("scopes_supported", "lacks offline_access: refresh tokens may not be issued")
	}
	if slices.Contains(md.IDTokenSigningAlgValuesSupported, "none") {
		add("id_token_signing_alg_values_supported", `offers "none": unsigned ID tokens are refused by oidcrp`)
	}
	if methods := md.TokenEndpointAuthMethodsSupported; len(methods) > 0 &&
		!slices.Contains(methods, "client_secret_basic") && !slices.Contains(methods, "client_secret_post") {
		add("token_endpoint_auth_methods_supported", "offers neither client_secret_basic nor client_secret_post")
	}
	if md.UserinfoEndpoint == "" {
		add("userinfo_endpoint", "absent: claims come from the ID token only")
	}
	if md.EndSessionEndpoint == "" {
		add("end_session_endpoint", "absent: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) is not possible; logout is local only")
	}
	if !md.BackchannelLogoutSupported {
		add("backchannel_logout_supported", "false or absent: the provider will not tell the application when a user logs out elsewhere")
	}
	if !md.FrontchannelLogoutSupported {
		add("frontchannel_logout_supported", "false or absent: no front-channel logout")
	}
	if md.RevocationEndpoint == "" {
		add("revocation_endpoint", "absent: tokens cannot be revoked at logout (RFC 7009)")
	}
	if md.RegistrationEndpoint == "" {
		add("registration_endpoint", "absent: dynamic client registration is not advertised; pass -registration-endpoint "+
			"(Ory Hydra: <public URL>/oauth2/register, advertised once webfinger.oidc_discovery.client_registration_url is set)")
	}
	if !md.AuthorizationResponseIssParameterSupported {
		add("authorization_response_iss_parameter_supported", "false or absent: no RFC 9207 iss in authorization responses; use one redirect URI per provider against mix-up attacks")
	}
	for _, e := range []struct{ member, url string }{
		{"issuer", md.Issuer},
		{"authorization_endpoint", md.AuthorizationEndpoint},
		{"token_endpoint", md.TokenEndpoint},
		{"userinfo_endpoint", md.UserinfoEndpoint},
		{"jwks_uri", md.JWKSURI},
		{"registration_endpoint", md.RegistrationEndpoint},
		{"revocation_endpoint", md.RevocationEndpoint},
		{"end_session_endpoint", md.EndSessionEndpoint},
	} {
		if u, err := url.Parse(e.url); err == nil && u.Scheme == "http" {
			add(e.member, "uses plain http (%s): acceptable for a provider on this machine only", e.url)
		}
	}
	return out
}

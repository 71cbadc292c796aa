package authz

import (
	"strings"
	"testing"

	"go.temporal.io/server/common/config"
)

func configWithInternalFrontend(bindOnIP string, port int, broadcast string) *config.Config {
	cfg := &config.Config{Services: map[string]config.Service{
		"internal-frontend": {RPC: config.RPC{GRPCPort: port, BindOnIP: bindOnIP}},
	}}
	cfg.Global.Membership.BroadcastAddress = broadcast
	return cfg
}

func TestSettingsFromEnv(t *testing.T) {
	cfg := configWithInternalFrontend("127.0.0.1", 7236, "")

	t.Setenv(EnvIssuer, "")
	if _, err := SettingsFromEnv(cfg); err == nil || !strings.Contains(err.Error(), EnvIssuer) {
		t.Fatalf("missing issuer: %v", err)
	}

	t.Setenv(EnvIssuer, "https://issuer.example")
	s, err := SettingsFromEnv(cfg)
	if err != nil || s.Mode != ModeTokenrelay || s.Issuer != "https://issuer.example" || s.ResolverAddress != "127.0.0.1:7236" || s.AuditLog != "" {
		t.Fatalf("defaults: %+v %v", s, err)
	}

	t.Setenv(EnvResolverAddress, "dns:///internal-frontend.temporal.svc:7236")
	if s, _ := SettingsFromEnv(cfg); s.ResolverAddress != "dns:///internal-frontend.temporal.svc:7236" {
		t.Fatalf("override: %+v", s)
	}
	t.Setenv(EnvResolverAddress, "off")
	if s, _ := SettingsFromEnv(cfg); s.ResolverAddress != "" {
		t.Fatalf("off: %+v", s)
	}
	t.Setenv(EnvResolverAddress, "")

	t.Setenv(EnvAuthorizer, "default")
	t.Setenv(EnvIssuer, "")
	if s, err := SettingsFromEnv(cfg); err != nil || s.Mode != ModeDefault {
		t.Fatalf("default mode needs no issuer: %+v %v", s, err)
	}
	t.Setenv(EnvAuthorizer, "permissive")
	if _, err := SettingsFromEnv(cfg); err == nil {
		t.Fatal("unknown mode accepted")
	}
}

func TestInternalFrontendAddress(t *testing.T) {
	cases := []struct {
		cfg  *config.Config
		want string
	}{
		{configWithInternalFrontend("10.0.0.5", 7236, "10.0.0.9"), "10.0.0.5:7236"},
		{configWithInternalFrontend("0.0.0.0", 7236, "10.0.0.9"), "10.0.0.9:7236"},
		{configWithInternalFrontend("", 7236, ""), "127.0.0.1:7236"},
		{configWithInternalFrontend("::", 7236, ""), "127.0.0.1:7236"},
		{configWithInternalFrontend("127.0.0.1", 0, ""), ""},
		{&config.Config{}, ""},
	}
	for _, c := range cases {
		if got := internalFrontendAddress(c.cfg); got != c.want {
			t.Errorf("%+v: got %q, want %q", c.cfg.Services, got, c.want)
		}
	}
}

package authz

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/primitives"
)

// Environment variables for what Temporal's config file has no place for (server/README.md).
const (
	EnvAuthorizer      = "TOKENRELAY_AUTHORIZER"
	EnvIssuer          = "TOKENRELAY_AUTHZ_ISSUER"
	EnvAuditLog        = "TOKENRELAY_AUTHZ_AUDIT_LOG"
	EnvResolverAddress = "TOKENRELAY_AUTHZ_RESOLVER_ADDRESS"
)

// Mode selects the authorization in the binary.
type Mode string

const (
	// ModeTokenrelay: this package's claim mapper and authorizer (the default).
	ModeTokenrelay Mode = "tokenrelay"
	// ModeDefault: Temporal's stock default authorizer and claim mapper, for side-by-side comparison.
	ModeDefault Mode = "default"
)

// Settings are the tokenrelay settings read from the environment.
type Settings struct {
	Mode     Mode
	Issuer   string
	AuditLog string
	// ResolverAddress is the internal-frontend to ask for workflow types; "" when there is none.
	ResolverAddress string
}

// SettingsFromEnv reads the environment, deriving the resolver address from cfg when it is not set.
func SettingsFromEnv(cfg *config.Config) (Settings, error) {
	s := Settings{
		Mode:     Mode(strings.ToLower(strings.TrimSpace(os.Getenv(EnvAuthorizer)))),
		Issuer:   strings.TrimSpace(os.Getenv(EnvIssuer)),
		AuditLog: strings.TrimSpace(os.Getenv(EnvAuditLog)),
	}
	switch s.Mode {
	case "":
		s.Mode = ModeTokenrelay
	case ModeTokenrelay, ModeDefault:
	default:
		return s, fmt.Errorf("%s=%q: expected %q or %q", EnvAuthorizer, s.Mode, ModeTokenrelay, ModeDefault)
	}
	if s.Mode == ModeDefault {
		return s, nil
	}
	if s.Issuer == "" {
		return s, fmt.Errorf("%s is required: the exact \"iss\" of the tokens this server accepts", EnvIssuer)
	}
	switch address := strings.TrimSpace(os.Getenv(EnvResolverAddress)); address {
	case "":
		s.ResolverAddress = internalFrontendAddress(cfg)
	case "off":
		s.ResolverAddress = ""
	default:
		s.ResolverAddress = address
	}
	return s, nil
}

// internalFrontendAddress is where this config's internal-frontend listens, as seen from this host:
// right when the frontend and internal-frontend run in the same process or on the same host; a
// multi-host cluster sets TOKENRELAY_AUTHZ_RESOLVER_ADDRESS instead.
func internalFrontendAddress(cfg *config.Config) string {
	service, ok := cfg.Services[string(primitives.InternalFrontendService)]
	if !ok || service.RPC.GRPCPort == 0 {
		return ""
	}
	host := service.RPC.BindOnIP
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = cfg.Global.Membership.BroadcastAddress
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(service.RPC.GRPCPort))
}

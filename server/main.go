// Command server is Temporal's server (same CLI as go.temporal.io/server/cmd/server) started with
// tokenrelay's claim mapper and authorizer. TOKENRELAY_AUTHORIZER=default runs Temporal's stock
// authorization instead, so the two can be compared with one binary. See README.md.
package main

import (
	"crypto/tls"
	"fmt"
	"io"
	stdlog "log"
	"os"
	"path"
	"strings"
	_ "time/tzdata" // embed tzdata as a fallback, as the stock server does

	"github.com/tokenrelay/tokenrelay/server/authz"
	"github.com/urfave/cli/v2"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/headers"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
	"go.temporal.io/server/common/metrics"
	_ "go.temporal.io/server/common/persistence/sql/sqlplugin/mysql"      // SQL persistence plugins, as
	_ "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql" // in the stock server, so the
	_ "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"     // same configs work unchanged
	"go.temporal.io/server/common/rpc/encryption"
	"go.temporal.io/server/temporal"
)

func main() {
	_ = newApp().Run(os.Args)
}

func newApp() *cli.App {
	app := cli.NewApp()
	app.Name = "temporal-tokenrelay"
	app.Usage = "Temporal server with tokenrelay's claim mapper and authorizer"
	app.Version = headers.ServerVersion
	app.ArgsUsage = " "
	app.Flags = []cli.Flag{
		&cli.StringFlag{Name: "root", Aliases: []string{"r"}, Value: ".", Usage: "root directory of execution environment (deprecated)", EnvVars: []string{config.EnvKeyRoot}},
		&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Value: "config", Usage: "config dir path relative to root (deprecated)", EnvVars: []string{config.EnvKeyConfigDir}},
		&cli.StringFlag{Name: "env", Aliases: []string{"e"}, Value: "development", Usage: "runtime environment (deprecated)", EnvVars: []string{config.EnvKeyEnvironment}},
		&cli.StringFlag{Name: "zone", Aliases: []string{"az"}, Usage: "availability zone (deprecated)", EnvVars: []string{config.EnvKeyAvailabilityZone, config.EnvKeyAvailabilityZoneTypo}},
		&cli.StringFlag{Name: "config-file", Usage: "path to config file (absolute or relative to current working directory)", EnvVars: []string{config.EnvKeyConfigFile}},
		&cli.BoolFlag{Name: "allow-no-auth", Usage: "allow no authorizer (only with TOKENRELAY_AUTHORIZER=default)", EnvVars: []string{config.EnvKeyAllowNoAuth}},
	}
	app.Commands = []*cli.Command{{
		Name:      "start",
		Usage:     "Start Temporal server",
		ArgsUsage: " ",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "services", Aliases: []string{"s"}, Usage: "comma separated list of services to start. Deprecated", Hidden: true},
			&cli.StringSliceFlag{Name: "service", Aliases: []string{"svc"}, Value: cli.NewStringSlice(temporal.DefaultServices...), Usage: "service(s) to start", EnvVars: []string{"TEMPORAL_SERVICES"}},
		},
		Before: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return cli.Exit("ERROR: start command doesn't support arguments. Use --service flag instead.", 1)
			}
			if c.IsSet("config-file") && (c.IsSet("config") || c.IsSet("env") || c.IsSet("zone") || c.IsSet("root")) {
				return cli.Exit("ERROR: can not use --config, --env, --zone, or --root with --config-file", 1)
			}
			return nil
		},
		Action: start,
	}}
	return app
}

func loadConfig(c *cli.Context) (*config.Config, error) {
	switch {
	case c.IsSet("config-file"):
		return config.Load(config.WithConfigFile(c.String("config-file")))
	case c.IsSet("config") || c.IsSet("env") || c.IsSet("zone"):
		return config.Load(
			config.WithEnv(c.String("env")),
			config.WithConfigDir(path.Join(c.String("root"), c.String("config"))),
			config.WithZone(c.String("zone")),
		)
	default:
		return config.Load(config.WithEmbedded())
	}
}

func start(c *cli.Context) error {
	services := c.StringSlice("service")
	if c.IsSet("services") {
		stdlog.Println("WARNING: --services flag is deprecated. Specify multiply --service flags instead.")
		services = strings.Split(c.String("services"), ",")
	}
	cfg, err := loadConfig(c)
	if err != nil {
		return cli.Exit(fmt.Sprintf("Unable to load configuration: %v.", err), 1)
	}
	logger := log.NewZapLogger(log.BuildZapLogger(cfg.Log))
	logger.Info("Build info.", tag.NewStringTag("server-version", headers.ServerVersion), tag.NewStringTag("build", "tokenrelay"))

	var dynamicConfigClient dynamicconfig.Client
	if cfg.DynamicConfigClient != nil {
		dynamicConfigClient, err = dynamicconfig.NewFileBasedClient(cfg.DynamicConfigClient, logger, temporal.InterruptCh())
		if err != nil {
			return cli.Exit(fmt.Sprintf("Unable to create dynamic config client. Error: %v", err), 1)
		}
	} else {
		dynamicConfigClient = dynamicconfig.NewNoopClient()
	}

	auth, err := newAuthorization(cfg, logger, c.Bool("allow-no-auth"))
	if err != nil {
		return cli.Exit(fmt.Sprintf("Unable to set up authorization: %v.", err), 1)
	}
	defer func() { _ = auth.closer.Close() }()
	audienceMapper, err := authorization.GetAudienceMapperFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return cli.Exit(fmt.Sprintf("Unable to instantiate audience mapper: %v.", err), 1)
	}

	s, err := temporal.NewServer(
		temporal.ForServices(services),
		temporal.WithConfig(cfg),
		temporal.WithDynamicConfigClient(dynamicConfigClient),
		temporal.WithLogger(logger),
		temporal.InterruptOn(temporal.InterruptCh()),
		temporal.WithAuthorizer(auth.authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return auth.claimMapper }),
		temporal.WithAudienceGetter(func(*config.Config) authorization.JWTAudienceMapper { return audienceMapper }),
	)
	if err != nil {
		return cli.Exit(fmt.Sprintf("Unable to create server. Error: %v.", err), 1)
	}
	if err := s.Start(); err != nil {
		return cli.Exit(fmt.Sprintf("Unable to start server. Error: %v", err), 1)
	}
	return cli.Exit("All services are stopped.", 0)
}

type serverAuthorization struct {
	authorizer  authorization.Authorizer
	claimMapper authorization.ClaimMapper
	closer      io.Closer
}

// newAuthorization builds the claim mapper and authorizer the environment asks for. Audience,
// permissions claim name and JWKS always come from global.authorization in Temporal's config.
func newAuthorization(cfg *config.Config, logger log.Logger, allowNoAuth bool) (serverAuthorization, error) {
	settings, err := authz.SettingsFromEnv(cfg)
	if err != nil {
		return serverAuthorization{}, err
	}
	authCfg := &cfg.Global.Authorization
	if settings.Mode == authz.ModeDefault {
		authorizer, err := authorization.GetAuthorizerFromConfig(authCfg)
		if err != nil {
			return serverAuthorization{}, err
		}
		if authorization.IsNoopAuthorizer(authorizer) && !allowNoAuth {
			logger.Warn("Not using any authorizer and flag `--allow-no-auth` not detected.")
		}
		claimMapper, err := authorization.GetClaimMapperFromConfig(authCfg, logger)
		if err != nil {
			return serverAuthorization{}, err
		}
		logger.Info("Authorization: Temporal's stock authorizer and claim mapper (TOKENRELAY_AUTHORIZER=default).")
		return serverAuthorization{authorizer: authorizer, claimMapper: claimMapper, closer: io.NopCloser(nil)}, nil
	}

	if !authCfg.JWTKeyProvider.HasSourceURIsConfigured() {
		return serverAuthorization{}, fmt.Errorf("global.authorization.jwtKeyProvider.keySourceURIs is empty: no token could ever be verified")
	}
	claimMapper, err := authz.NewClaimMapper(authorization.NewDefaultTokenKeyProvider(authCfg, logger), authz.ClaimMapperOptions{
		Issuer:               settings.Issuer,
		PermissionsClaimName: authCfg.PermissionsClaimName,
		PermissionsRegex:     authCfg.PermissionsRegex,
		Logger:               logger,
	})
	if err != nil {
		return serverAuthorization{}, err
	}
	auditor, closer, err := authz.OpenAuditLog(settings.AuditLog)
	if err != nil {
		return serverAuthorization{}, err
	}
	var resolver authz.TypeResolver
	if settings.ResolverAddress != "" {
		dialer := &authz.InternalFrontendDialer{Address: settings.ResolverAddress, TLS: internodeClientTLS(cfg, logger)}
		resolver = authz.NewCachingResolver(dialer.Describe)
	} else {
		logger.Warn("No internal-frontend to resolve workflow types: type-scoped grants on calls that name only a workflow id are denied.")
	}
	logger.Info("Authorization: tokenrelay claim mapper and authorizer.",
		tag.NewStringTag("issuer", settings.Issuer),
		tag.NewStringTag("audience", authCfg.Audience),
		tag.NewStringTag("resolver", settings.ResolverAddress))
	return serverAuthorization{authorizer: authz.NewAuthorizer(resolver, auditor), claimMapper: claimMapper, closer: closer}, nil
}

// internodeClientTLS loads global.tls.internode.client on first use, the settings the server's own
// services use to reach internal-frontend.
func internodeClientTLS(cfg *config.Config, logger log.Logger) func() (*tls.Config, error) {
	return func() (*tls.Config, error) {
		provider, err := encryption.NewTLSConfigProviderFromConfig(cfg.Global.TLS, metrics.NoopMetricsHandler, logger, nil)
		if err != nil {
			return nil, err
		}
		return provider.GetInternodeClientConfig()
	}
}

package authz

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v4"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
	"go.temporal.io/server/common/primitives"
)

// Only the algorithms Temporal's default key provider serves keys for; never "none" or HMAC.
var allowedAlgorithms = []string{jwt.SigningMethodRS256.Name, jwt.SigningMethodES256.Name}

// ClaimMapperOptions configure NewClaimMapper. Audience is not here: Temporal hands it to the mapper
// with every call (AuthInfo.Audience, from global.authorization.audience).
type ClaimMapperOptions struct {
	// Issuer every token's "iss" must equal (TOKENRELAY_AUTHZ_ISSUER). Required.
	Issuer string
	// PermissionsClaimName is global.authorization.permissionsClaimName; default "permissions".
	PermissionsClaimName string
	// PermissionsRegex is global.authorization.permissionsRegex: when set, strings outside the
	// grammar that match it still yield a role, as they would on a stock server.
	PermissionsRegex string
	Logger           log.Logger
	// Now is the clock for exp/nbf/iat (tests); default time.Now.
	Now func() time.Time
}

type claimMapper struct {
	keys       authorization.TokenKeyProvider
	methods    []string
	issuer     string
	claimName  string
	legacy     *regexp.Regexp
	legacyNs   int
	legacyRole int
	logger     log.Logger
	now        func() time.Time
}

var _ authorization.ClaimMapper = (*claimMapper)(nil)

// NewClaimMapper verifies JWTs like Temporal's default mapper (key by "kid" from keys, RS256/ES256,
// exp/nbf/iat, audience) and additionally requires "exp", a non-empty "sub" and the configured "iss".
// Roles go to Claims.System/Namespaces exactly as the default mapper puts them; tokenrelay grants go
// to Claims.Extensions as *Grants.
func NewClaimMapper(keys authorization.TokenKeyProvider, opts ClaimMapperOptions) (authorization.ClaimMapper, error) {
	if strings.TrimSpace(opts.Issuer) == "" {
		return nil, fmt.Errorf("the claim mapper needs the expected token issuer (TOKENRELAY_AUTHZ_ISSUER)")
	}
	m := &claimMapper{
		keys:      keys,
		issuer:    opts.Issuer,
		claimName: opts.PermissionsClaimName,
		logger:    opts.Logger,
		now:       opts.Now,
	}
	if m.claimName == "" {
		m.claimName = "permissions"
	}
	if m.logger == nil {
		m.logger = log.NewNoopLogger()
	}
	if m.now == nil {
		m.now = time.Now
	}
	for _, alg := range keys.SupportedMethods() {
		if slices.Contains(allowedAlgorithms, alg) {
			m.methods = append(m.methods, alg)
		}
	}
	if opts.PermissionsRegex != "" {
		r, err := regexp.Compile(opts.PermissionsRegex)
		if err != nil {
			return nil, fmt.Errorf("global.authorization.permissionsRegex: %w", err)
		}
		m.legacyNs, m.legacyRole = r.SubexpIndex("namespace"), r.SubexpIndex("role")
		if m.legacyNs < 0 || m.legacyRole < 0 {
			return nil, fmt.Errorf("global.authorization.permissionsRegex needs named groups (?P<namespace>…) and (?P<role>…)")
		}
		m.legacy = r
	}
	return m, nil
}

func denied(msg string) error { return serviceerror.NewPermissionDenied(msg, "") }

func (m *claimMapper) GetClaims(info *authorization.AuthInfo) (*authorization.Claims, error) {
	// A TLS client certificate without a bearer token identifies nobody here: empty claims (deny
	// everything but health checks), the same outcome as the default mapper.
	if info.AuthToken == "" {
		return &authorization.Claims{Extensions: NewGrants(nil)}, nil
	}
	scheme, raw, ok := strings.Cut(info.AuthToken, " ")
	if !ok {
		return nil, denied("unexpected authorization token format")
	}
	if !strings.EqualFold(scheme, "bearer") {
		return nil, denied("unexpected name in authorization token")
	}
	token, err := m.verify(raw, info.Audience)
	if err != nil {
		return nil, err
	}
	subject, _ := token["sub"].(string)
	if subject == "" {
		return nil, denied(`token has no "sub" claim`)
	}
	list, _ := token[m.claimName].([]any)
	return m.mapPermissions(subject, list), nil
}

// mapPermissions turns the permissions claim into Claims: roles as Temporal's default mapper would,
// grants into Extensions. Strings outside the grammar are logged and skipped.
func (m *claimMapper) mapPermissions(subject string, list []any) *authorization.Claims {
	claims := &authorization.Claims{Subject: subject}
	var grants []Permission
	for _, item := range list {
		value, ok := item.(string)
		if !ok {
			m.logger.Warn("ignoring a permission that is not a string", tag.NewStringTag("sub", subject))
			continue
		}
		p, err := m.parse(value)
		if err != nil {
			// One bad string must not void the token's other permissions.
			m.logger.Warn("ignoring a permission outside the grammar", tag.NewStringTag("sub", subject), tag.Error(err))
			continue
		}
		if p.Role != "" {
			addRole(claims, p)
		} else {
			grants = append(grants, p)
		}
	}
	claims.Extensions = NewGrants(grants)
	return claims
}

func (m *claimMapper) parse(value string) (Permission, error) {
	p, err := ParsePermission(value)
	if err == nil || m.legacy == nil {
		return p, err
	}
	match := m.legacy.FindStringSubmatch(value)
	if match == nil {
		return p, err
	}
	role := strings.ToLower(match[m.legacyRole])
	if roleBits(role) == authorization.RoleUndefined {
		return p, err
	}
	return Permission{Namespace: match[m.legacyNs], Role: role}, nil
}

// addRole fills Claims like Temporal's default mapper: "temporal-system" is the cluster, any other
// namespace part (including "*") is a key of Claims.Namespaces.
func addRole(claims *authorization.Claims, p Permission) {
	if p.Namespace == primitives.SystemLocalNamespace {
		claims.System |= roleBits(p.Role)
		return
	}
	if claims.Namespaces == nil {
		claims.Namespaces = map[string]authorization.Role{}
	}
	claims.Namespaces[p.Namespace] |= roleBits(p.Role)
}

func roleBits(role string) authorization.Role {
	switch role {
	case "read":
		return authorization.RoleReader
	case "write":
		return authorization.RoleWriter
	case "worker":
		return authorization.RoleWorker
	case "admin":
		return authorization.RoleAdmin
	}
	return authorization.RoleUndefined
}

func (m *claimMapper) verify(raw, audience string) (jwt.MapClaims, error) {
	parser := jwt.NewParser(jwt.WithValidMethods(m.methods), jwt.WithoutClaimsValidation())
	token, err := parser.Parse(raw, m.keyFor)
	if err != nil {
		return nil, denied(fmt.Sprintf("token rejected: %s", jwtProblem(err)))
	}
	claims, ok := token.Claims.(jwt.MapClaims)
	if !ok {
		return nil, denied("invalid token with no claims")
	}
	now := m.now().Unix()
	if _, has := claims["exp"]; !has {
		return nil, denied(`token has no "exp" claim`)
	}
	if !claims.VerifyExpiresAt(now, true) {
		return nil, denied("token is expired")
	}
	if !claims.VerifyNotBefore(now, false) {
		return nil, denied("token is not valid yet (nbf)")
	}
	if !claims.VerifyIssuedAt(now, false) {
		return nil, denied("token was issued in the future (iat)")
	}
	if strings.TrimSpace(audience) != "" && !claims.VerifyAudience(audience, true) {
		return nil, denied("audience mismatch")
	}
	if iss, _ := claims["iss"].(string); iss != m.issuer {
		return nil, denied("issuer mismatch")
	}
	return claims, nil
}

func (m *claimMapper) keyFor(token *jwt.Token) (any, error) {
	kid, ok := token.Header["kid"].(string)
	if !ok || kid == "" {
		return nil, fmt.Errorf(`malformed token: no "kid" header`)
	}
	alg, _ := token.Header["alg"].(string)
	switch token.Method.(type) {
	case *jwt.SigningMethodRSA:
		return m.keys.RsaKey(alg, kid)
	case *jwt.SigningMethodECDSA:
		return m.keys.EcdsaKey(alg, kid)
	default:
		return nil, fmt.Errorf("unexpected signing method %s", alg)
	}
}

// jwtProblem names what failed without echoing any part of the token.
func jwtProblem(err error) string {
	var v *jwt.ValidationError
	if errors.As(err, &v) && v.Inner != nil {
		return v.Inner.Error()
	}
	return err.Error()
}

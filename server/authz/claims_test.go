package authz

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/config"
)

// staticKeys is a TokenKeyProvider over fixed keys, with the default provider's algorithm rules.
type staticKeys struct {
	rsa map[string]*rsa.PublicKey
	ec  map[string]*ecdsa.PublicKey
}

func (k *staticKeys) EcdsaKey(alg, kid string) (*ecdsa.PublicKey, error) {
	if alg != "ES256" {
		return nil, fmt.Errorf("unexpected signing algorithm: %s", alg)
	}
	if key, ok := k.ec[kid]; ok {
		return key, nil
	}
	return nil, fmt.Errorf("ECDSA key not found for key ID: %s", kid)
}

func (k *staticKeys) RsaKey(alg, kid string) (*rsa.PublicKey, error) {
	if alg != "RS256" {
		return nil, fmt.Errorf("unexpected signing algorithm: %s", alg)
	}
	if key, ok := k.rsa[kid]; ok {
		return key, nil
	}
	return nil, fmt.Errorf("RSA key not found for key ID: %s", kid)
}

func (k *staticKeys) HmacKey(alg, _ string) ([]byte, error) {
	return nil, fmt.Errorf("unsupported key type HMAC for: %s", alg)
}
func (k *staticKeys) SupportedMethods() []string { return []string{"RS256", "ES256"} }
func (k *staticKeys) Close()                     {}

const (
	testIssuer   = "http://127.0.0.1:17200"
	testAudience = "tokenrelay-dev"
)

var (
	ecKey, _  = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ = rsa.GenerateKey(rand.Reader, 2048)
	keys      = &staticKeys{
		rsa: map[string]*rsa.PublicKey{"rsa-1": &rsaKey.PublicKey},
		ec:  map[string]*ecdsa.PublicKey{"ec-1": &ecKey.PublicKey},
	}
	testNow = time.Unix(1_800_000_000, 0)
)

func baseClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss":         testIssuer,
		"sub":         "app-worker",
		"aud":         testAudience,
		"iat":         testNow.Add(-time.Minute).Unix(),
		"exp":         testNow.Add(10 * time.Minute).Unix(),
		"permissions": []any{"default:read", "temporal-system:admin", "*:write", "default:token.rotate", "default:taskqueue.poll:tokenrelay-reference"},
	}
}

func sign(t *testing.T, method jwt.SigningMethod, kid string, key any, claims jwt.MapClaims) string {
	t.Helper()
	token := jwt.NewWithClaims(method, claims)
	if kid != "" {
		token.Header["kid"] = kid
	}
	s, err := token.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newMapper(t *testing.T) authorization.ClaimMapper {
	t.Helper()
	m, err := NewClaimMapper(keys, ClaimMapperOptions{Issuer: testIssuer, Logger: noopLogger(), Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func with(mutate func(jwt.MapClaims)) jwt.MapClaims {
	c := baseClaims()
	mutate(c)
	return c
}

func TestClaimMapperAcceptsTheIssuersTokens(t *testing.T) {
	m := newMapper(t)
	for name, token := range map[string]string{
		"ES256": sign(t, jwt.SigningMethodES256, "ec-1", ecKey, baseClaims()),
		"RS256": sign(t, jwt.SigningMethodRS256, "rsa-1", rsaKey, baseClaims()),
		"aud list": sign(t, jwt.SigningMethodES256, "ec-1", ecKey, with(func(c jwt.MapClaims) {
			c["aud"] = []any{"other", testAudience}
		})),
	} {
		t.Run(name, func(t *testing.T) {
			claims, err := m.GetClaims(&authorization.AuthInfo{AuthToken: "Bearer " + token, Audience: testAudience})
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if claims.Subject != "app-worker" || claims.System != authorization.RoleAdmin ||
				claims.Namespaces["default"] != authorization.RoleReader || claims.Namespaces["*"] != authorization.RoleWriter {
				t.Fatalf("roles not mapped as Temporal does: %+v", claims)
			}
			grants := claims.Extensions.(*Grants)
			if !grants.Allows("default", ActionTokenRotate, "anything") || !grants.Allows("default", ActionTaskQueuePoll, "tokenrelay-reference") ||
				grants.Allows("default", ActionTaskQueuePoll, "other") || grants.Has("default", ActionTokenRead) {
				t.Fatalf("grants not mapped: %+v", grants.list)
			}
		})
	}
}

// Roles land in Claims exactly where Temporal's default mapper puts them, so existing tokens keep
// their meaning.
func TestRolesMatchTemporalsDefaultMapper(t *testing.T) {
	claims := with(func(c jwt.MapClaims) {
		c["permissions"] = []any{"default:read", "default:write", "temporal-system:admin", "temporal-system:read", "elsewhere:worker", "*:read", "other:ADMIN"}
	})
	token := "Bearer " + sign(t, jwt.SigningMethodES256, "ec-1", ecKey, claims)
	ours, err := newMapper(t).GetClaims(&authorization.AuthInfo{AuthToken: token})
	if err != nil {
		t.Fatal(err)
	}
	// The stock mapper validates exp against the real clock; give it a token valid now.
	claims["exp"] = time.Now().Add(time.Hour).Unix()
	claims["iat"] = time.Now().Unix()
	stockToken := "Bearer " + sign(t, jwt.SigningMethodES256, "ec-1", ecKey, claims)
	stock, err := authorization.NewDefaultJWTClaimMapper(keys, &config.Authorization{}, noopLogger()).GetClaims(&authorization.AuthInfo{AuthToken: stockToken})
	if err != nil {
		t.Fatal(err)
	}
	if ours.System != stock.System || !reflect.DeepEqual(ours.Namespaces, stock.Namespaces) {
		t.Fatalf("ours %v %v, stock %v %v", ours.System, ours.Namespaces, stock.System, stock.Namespaces)
	}
}

func TestClaimMapperRefusals(t *testing.T) {
	hsToken := jwt.NewWithClaims(jwt.SigningMethodHS256, baseClaims())
	hsToken.Header["kid"] = "ec-1"
	hs, _ := hsToken.SignedString([]byte("a-shared-secret-of-enough-length"))
	none := jwt.NewWithClaims(jwt.SigningMethodNone, baseClaims())
	none.Header["kid"] = "ec-1"
	noneToken, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	otherEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	cases := map[string]struct {
		header   string
		audience string
		want     string
	}{
		"wrong iss":       {"Bearer " + sign(t, jwt.SigningMethodES256, "ec-1", ecKey, with(func(c jwt.MapClaims) { c["iss"] = "http://evil" })), testAudience, "issuer"},
		"no iss":          {"Bearer " + sign(t, jwt.SigningMethodES256, "ec-1", ecKey, with(func(c jwt.MapClaims) { delete(c, "iss") })), testAudience, "issuer"},
		"wrong aud":       {"Bearer " + sign(t, jwt.SigningMethodES256, "ec-1", ecKey, with(func(c jwt.MapClaims) { c["aud"] = "tokenrelay-demo-api" })), testAudience, "audience"},
		"no aud":          {"Bearer " + sign(t, jwt.SigningMethodES256, "ec-1", ecKey, with(func(c jwt.MapClaims) { delete(c, "aud") })), testAudience, "audience"},
		"HS256":           {"Bearer " + hs, testAudience, "HS256"},
		"alg none":        {"Bearer " + noneToken, testAudience, "none"},
		"RS384":           {"Bearer " + sign(t, jwt.SigningMethodRS384, "rsa-1", rsaKey, baseClaims()), testAudience, "RS384"},
		"ES384 header":    {"Bearer " + sign(t, jwt.SigningMethodES384, "ec-1", mustEC384(t), baseClaims()), testAudience, "ES384"},
		"unknown kid":     {"Bearer " + sign(t, jwt.SigningMethodES256, "ec-9", ecKey, baseClaims()), testAudience, "key not found"},
		"no kid":          {"Bearer " + sign(t, jwt.SigningMethodES256, "", ecKey, baseClaims()), testAudience, "kid"},
		"wrong key":       {"Bearer " + sign(t, jwt.SigningMethodES256, "ec-1", otherEC, baseClaims()), testAudience, "verification"},
		"RSA kid, EC alg": {"Bearer " + sign(t, jwt.SigningMethodES256, "rsa-1", ecKey, baseClaims()), testAudience, "key not found"},
		"expired":         {"Bearer " + sign(t, jwt.SigningMethodES256, "ec-1", ecKey, with(func(c jwt.MapClaims) { c["exp"] = testNow.Add(-time.Second).Unix() })), testAudience, "expired"},
		"no exp":          {"Bearer " + sign(t, jwt.SigningMethodES256, "ec-1", ecKey, with(func(c jwt.MapClaims) { delete(c, "exp") })), testAudience, "exp"},
		"not yet valid":   {"Bearer " + sign(t, jwt.SigningMethodES256, "ec-1", ecKey, with(func(c jwt.MapClaims) { c["nbf"] = testNow.Add(time.Minute).Unix() })), testAudience, "nbf"},
		"no sub":          {"Bearer " + sign(t, jwt.SigningMethodES256, "ec-1", ecKey, with(func(c jwt.MapClaims) { delete(c, "sub") })), testAudience, "sub"},
		"empty sub":       {"Bearer " + sign(t, jwt.SigningMethodES256, "ec-1", ecKey, with(func(c jwt.MapClaims) { c["sub"] = "" })), testAudience, "sub"},
		"numeric sub":     {"Bearer " + sign(t, jwt.SigningMethodES256, "ec-1", ecKey, with(func(c jwt.MapClaims) { c["sub"] = 42 })), testAudience, "sub"},
		"not bearer":      {"Basic " + sign(t, jwt.SigningMethodES256, "ec-1", ecKey, baseClaims()), testAudience, "unexpected name"},
		"no scheme":       {sign(t, jwt.SigningMethodES256, "ec-1", ecKey, baseClaims()), testAudience, "format"},
		"garbage":         {"Bearer not.a.jwt", testAudience, "token rejected"},
	}
	m := newMapper(t)
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			claims, err := m.GetClaims(&authorization.AuthInfo{AuthToken: tc.header, Audience: tc.audience})
			if err == nil {
				t.Fatalf("accepted: %+v", claims)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
			raw := tc.header[strings.LastIndex(tc.header, " ")+1:]
			if len(raw) > 20 && strings.Contains(err.Error(), raw[len(raw)-20:]) {
				t.Fatalf("error echoes the token: %q", err)
			}
		})
	}
}

func TestAudienceOnlyCheckedWhenConfigured(t *testing.T) {
	token := "Bearer " + sign(t, jwt.SigningMethodES256, "ec-1", ecKey, with(func(c jwt.MapClaims) { c["aud"] = "anything" }))
	if _, err := newMapper(t).GetClaims(&authorization.AuthInfo{AuthToken: token, Audience: ""}); err != nil {
		t.Fatalf("refused without a configured audience: %v", err)
	}
}

func TestUnparsablePermissionsAreSkippedNotFatal(t *testing.T) {
	token := "Bearer " + sign(t, jwt.SigningMethodES256, "ec-1", ecKey, with(func(c jwt.MapClaims) {
		c["permissions"] = []any{"default:read", "bogus", 42, "default:token.rotate:bad glob!", "default:token.read:", "default:read:extra", "default:workflow.start:inventory*"}
	}))
	claims, err := newMapper(t).GetClaims(&authorization.AuthInfo{AuthToken: token, Audience: testAudience})
	if err != nil {
		t.Fatalf("one bad permission voided the token: %v", err)
	}
	grants := claims.Extensions.(*Grants)
	if claims.Namespaces["default"] != authorization.RoleReader || len(grants.list) != 1 || !grants.Allows("default", ActionWorkflowStart, "inventorySync") {
		t.Fatalf("claims %+v grants %+v", claims, grants.list)
	}
}

func TestCertificateWithoutTokenGetsNoRights(t *testing.T) {
	claims, err := newMapper(t).GetClaims(&authorization.AuthInfo{})
	if err != nil || claims.System != 0 || len(claims.Namespaces) != 0 || !claims.Extensions.(*Grants).Empty() {
		t.Fatalf("claims %+v err %v", claims, err)
	}
}

func TestPermissionsRegexStillYieldsRoles(t *testing.T) {
	m, err := NewClaimMapper(keys, ClaimMapperOptions{
		Issuer: testIssuer, Logger: noopLogger(), Now: func() time.Time { return testNow },
		PermissionsRegex: `^(?P<namespace>[a-z]+)/(?P<role>[a-z]+)$`,
	})
	if err != nil {
		t.Fatal(err)
	}
	token := "Bearer " + sign(t, jwt.SigningMethodES256, "ec-1", ecKey, with(func(c jwt.MapClaims) {
		c["permissions"] = []any{"legacy/write", "default:token.read"}
	}))
	claims, err := m.GetClaims(&authorization.AuthInfo{AuthToken: token})
	if err != nil || claims.Namespaces["legacy"] != authorization.RoleWriter || !claims.Extensions.(*Grants).Has("default", ActionTokenRead) {
		t.Fatalf("claims %+v err %v", claims, err)
	}
}

func TestIssuerIsRequired(t *testing.T) {
	if _, err := NewClaimMapper(keys, ClaimMapperOptions{}); err == nil || !strings.Contains(err.Error(), "TOKENRELAY_AUTHZ_ISSUER") {
		t.Fatalf("err %v", err)
	}
}

func mustEC384(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

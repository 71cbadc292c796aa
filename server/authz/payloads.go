package authz

import (
	"bytes"
	"encoding/json"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
)

// EncryptedEncoding marks a payload the tokenrelay codec encrypted (src/codec/aes-gcm-codec.ts).
const EncryptedEncoding = "binary/encrypted"

const plainJSONEncoding = "json/plain"

// codecHint tells the caller what to fix without ever quoting the payload.
const codecHint = "configure the tokenrelay payload codec (TOKENRELAY_CODEC_KEYS) on the client so a token never reaches history in plain text"

func encodingOf(p *commonpb.Payload) string {
	return string(p.GetMetadata()["encoding"])
}

// unencryptedPayload returns a reason when any payload of an apiToken message is not encrypted by
// the codec; "" when all are (or there are none).
func unencryptedPayload(payloads *commonpb.Payloads) string {
	for _, p := range payloads.GetPayloads() {
		if enc := encodingOf(p); enc != EncryptedEncoding {
			return fmt.Sprintf("the apiToken payload is not encrypted (encoding %q, expected %q): %s", printable(enc), EncryptedEncoding, codecHint)
		}
	}
	return ""
}

// plaintextHandoff returns a reason when a start input carries a token handoff in plain text: a
// json/plain payload that is a JSON object with an "apiToken" key (what startParent sends, see
// src/stateful/client.ts, when the client has no codec).
func plaintextHandoff(payloads *commonpb.Payloads) string {
	for _, p := range payloads.GetPayloads() {
		// Only objects can carry the key; escaped key spellings still decode to it below.
		if encodingOf(p) != plainJSONEncoding || !bytes.HasPrefix(bytes.TrimSpace(p.GetData()), []byte("{")) {
			continue
		}
		var object map[string]json.RawMessage
		if json.Unmarshal(p.GetData(), &object) != nil {
			continue
		}
		if _, ok := object["apiToken"]; ok {
			return "the start input carries an apiToken handoff in plain text (encoding json/plain): " + codecHint
		}
	}
	return ""
}

// printable keeps a hostile encoding value from forging audit or log content.
func printable(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			r = '?'
		}
		out = append(out, r)
	}
	return string(out)
}

package configs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	const clear = "Passw0rd!"
	s := NewSecret(clear)
	if s.Reveal() != clear || s.IsZero() || !NewSecret("").IsZero() {
		t.Fatalf("Reveal/IsZero broken")
	}
	type holder struct {
		User string
		Pass Secret
	}
	h := holder{"alice", s}
	var forms []string
	for _, verb := range []string{"%v", "%s", "%q", "%#v", "%+v", "%x", "%X", "%d", "%10s"} {
		forms = append(forms, fmt.Sprintf(verb, s), fmt.Sprintf(verb, h), fmt.Sprintf(verb, &h))
	}
	forms = append(forms, s.String(), s.GoString(), fmt.Sprint(s), fmt.Sprintln(s))
	j, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	forms = append(forms, string(j))
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "pw", s, "h", h)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "pw", s, "h", h)
	forms = append(forms, buf.String())
	for _, f := range forms {
		if strings.Contains(f, clear) || strings.Contains(f, fmt.Sprintf("%x", clear)) {
			t.Errorf("secret leaked: %s", f)
		}
		if !strings.Contains(f, redacted) {
			t.Errorf("no [redacted] in %q", f)
		}
	}
}

func TestValueRedactsSecrets(t *testing.T) {
	v := Value{Name: "reg.1.auth.password", Raw: "Passw0rd!", Source: Source{Kind: File, File: "a.cfg", Line: 3}}
	j, _ := json.Marshal(v)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("v", "v", v)
	for _, f := range []string{fmt.Sprint(v), fmt.Sprintf("%#v", v), fmt.Sprintf("%+v", v), string(j), buf.String(), v.Display()} {
		if strings.Contains(f, "Passw0rd!") {
			t.Errorf("secret leaked: %s", f)
		}
	}
	plain := Value{Name: "reg.1.auth.userId", Raw: "alice"}
	if plain.Display() != "alice" {
		t.Errorf("non-secret redacted: %q", plain.Display())
	}
}

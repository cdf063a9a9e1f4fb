package jsonx

import (
	"encoding/json"
	"testing"
)

type sample struct {
	Issuer string   `json:"issuer"`
	Scopes []string `json:"scopes,omitempty"`
	Skip   string   `json:"-"`
}

func TestDecodeWithExtra(t *testing.T) {
	var v sample
	extra, err := DecodeWithExtra([]byte(`{"issuer":"a","ISSUER":"b","scopes":["x"],"vendor":{"k":1}}`), &v, Names[sample]())
	if err != nil {
		t.Fatal(err)
	}
	if v.Issuer != "a" || len(v.Scopes) != 1 {
		t.Errorf("decoded %+v", v)
	}
	if string(extra["ISSUER"]) != `"b"` || string(extra["vendor"]) != `{"k":1}` || len(extra) != 2 {
		t.Errorf("extra %v: a member that differs only in case must not fill the field", extra)
	}
	if _, err := DecodeWithExtra([]byte(`[1]`), &v, Names[sample]()); err == nil {
		t.Error("a JSON array decoded")
	}
	if _, err := DecodeWithExtra([]byte(`{"issuer":5}`), &v, Names[sample]()); err == nil {
		t.Error("a member of the wrong type decoded")
	}
}

func TestEncodeWithExtra(t *testing.T) {
	extra := map[string]json.RawMessage{"issuer": json.RawMessage(`"override"`), "vendor": json.RawMessage(`1`), "hidden": json.RawMessage(`2`)}
	b, err := EncodeWithExtra(sample{Issuer: "a"}, extra, Names[sample](), func(n string) bool { return n == "hidden" })
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	json.Unmarshal(b, &got)
	if string(got["issuer"]) != `"a"` || string(got["vendor"]) != `1` || got["hidden"] != nil {
		t.Errorf("encoded %s", b)
	}
	if _, err := EncodeWithExtra(sample{}, map[string]json.RawMessage{"bad": json.RawMessage(`{`)}, Names[sample](), nil); err == nil {
		t.Error("invalid extra JSON encoded")
	}
	if names := Names[sample](); len(names) != 2 {
		t.Errorf("Names = %v", names)
	}
}

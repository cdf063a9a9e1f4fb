package session

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"
)

// swappingBackend answers every Get with the record of one fixed ID, as a
// corrupted or hostile backend might.
type swappingBackend struct {
	Backend
	id string
}

func (b swappingBackend) Get(ctx context.Context, _ string) (*Session, error) {
	return b.Backend.Get(ctx, b.id)
}

func TestServerStoreLoadID(t *testing.T) {
	clk := newClock()
	mem := NewMemoryBackend()
	mem.now = clk.Now
	backend := &countingBackend{Backend: mem}
	st := NewServerStore(backend, CookieOptions{MaxAge: time.Hour, Now: clk.Now})
	want := sampleSession(t, clk.Now())
	if err := st.Save(httptest.NewRecorder(), nil, want); err != nil {
		t.Fatal(err)
	}
	other := sampleSession(t, clk.Now())
	if err := st.Save(httptest.NewRecorder(), nil, other); err != nil {
		t.Fatal(err)
	}

	t.Run("found", func(t *testing.T) {
		got, err := st.LoadID(t.Context(), want.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameSession(t, got, want)
	})
	t.Run("sees a save made after the first load", func(t *testing.T) {
		next := *want
		next.AccessToken = "refreshed-elsewhere"
		if err := st.Save(httptest.NewRecorder(), nil, &next); err != nil {
			t.Fatal(err)
		}
		got, err := st.LoadID(t.Context(), want.ID)
		if err != nil || got == nil || got.AccessToken != "refreshed-elsewhere" {
			t.Fatalf("LoadID = %+v, %v", got, err)
		}
	})

	absent := []struct {
		name string
		id   string
		// backendCalls is how many Get calls LoadID may make.
		backendCalls int64
	}{
		{name: "unknown ID", id: mustID(t), backendCalls: 1},
		{name: "empty ID", id: "", backendCalls: 0},
		{name: "too short", id: "abc", backendCalls: 0},
		{name: "path traversal", id: "../../../../etc/passwd-aaaaaaaa", backendCalls: 0},
		{name: "padding", id: want.ID + "=", backendCalls: 0},
		{name: "too long", id: string(make([]byte, 200)), backendCalls: 0},
	}
	for _, tc := range absent {
		t.Run(tc.name, func(t *testing.T) {
			before := backend.gets.Load()
			got, err := st.LoadID(t.Context(), tc.id)
			if got != nil || err != nil {
				t.Errorf("LoadID(%q) = %+v, %v; want nil, nil", tc.id, got, err)
			}
			if n := backend.gets.Load() - before; n != tc.backendCalls {
				t.Errorf("backend asked %d times, want %d", n, tc.backendCalls)
			}
		})
	}

	t.Run("record of another ID is refused", func(t *testing.T) {
		swapped := NewServerStore(swappingBackend{Backend: mem, id: other.ID}, CookieOptions{MaxAge: time.Hour, Now: clk.Now})
		if got, err := swapped.LoadID(t.Context(), want.ID); got != nil || err != nil {
			t.Errorf("LoadID = %+v, %v; want nil, nil", got, err)
		}
	})
	t.Run("past the absolute lifetime", func(t *testing.T) {
		clk.Add(time.Hour)
		defer clk.Add(-time.Hour)
		if got, err := st.LoadID(t.Context(), want.ID); got != nil || err != nil {
			t.Errorf("LoadID = %+v, %v; want nil, nil", got, err)
		}
	})
	t.Run("deleted", func(t *testing.T) {
		if err := st.DeleteID(t.Context(), other.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := st.LoadID(t.Context(), other.ID); got != nil || err != nil {
			t.Errorf("LoadID = %+v, %v; want nil, nil", got, err)
		}
	})
	t.Run("backend failure is an error", func(t *testing.T) {
		failing := NewServerStore(failingBackend{}, CookieOptions{})
		got, err := failing.LoadID(t.Context(), mustID(t))
		if got != nil || !errors.Is(err, errBackendDown) {
			t.Errorf("LoadID = %+v, %v; want the backend error", got, err)
		}
	})
	t.Run("invalid options are an error", func(t *testing.T) {
		bad := NewServerStore(mem, CookieOptions{MaxAge: -1})
		if got, err := bad.LoadID(t.Context(), want.ID); got != nil || err == nil {
			t.Errorf("LoadID = %+v, %v; want an error", got, err)
		}
	})
}

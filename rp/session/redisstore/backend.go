package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidcrp/oidcrp/rp/session"
)

// Fields of a record hash.
const (
	fieldData = "d" // the record, sealed when a Codec is set
	fieldSID  = "x" // the sid index key the record is listed under, or ""
	fieldSub  = "u" // the subject index key, or ""
)

// pruneMin is the index size from which Set prunes a set, at every power
// of two, of members whose record is gone (see Store.Set).
const pruneMin = 64

// delIfIndexed deletes the record KEYS[1] only when its field ARGV[1]
// still names the index key ARGV[2], so that a stale index member never
// deletes a session that now belongs to another sid or subject. It returns
// 1 when it deleted a live record. pcall: a key of the wrong type is
// treated as not matching.
const delIfIndexed = `
if redis.pcall('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
	return redis.call('DEL', KEYS[1])
end
return 0`

// writeRecord replaces the record KEYS[1] in one step, so that no reader
// ever sees it missing or half written, whatever was stored there before
// (even a key of another type): ARGV is the data, the sid and subject
// index keys, and the TTL in milliseconds.
const writeRecord = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], '` + fieldData + `', ARGV[1], '` + fieldSID + `', ARGV[2], '` + fieldSub + `', ARGV[3])
return redis.call('PEXPIRE', KEYS[1], ARGV[4])`

// recordAAD binds a sealed record to its key; ':' cannot occur in a
// cookie name, so it never equals a cookie's additional data.
func recordAAD(rk string) string { return "oidcrp-redis:" + rk }

// Get returns the session with the given ID, or (nil, nil) when it is
// missing, expired, or garbled (undecodable, sealed under another key or
// for another record, or of the wrong Redis type). A Redis failure is an
// error.
func (s *Store) Get(ctx context.Context, id string) (*session.Session, error) {
	rk := s.recordKey(id)
	v, err := s.c.HGet(ctx, rk, fieldData).Result()
	switch {
	case errors.Is(err, redis.Nil), redis.HasErrorPrefix(err, "WRONGTYPE"):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("redisstore: get: %w", err)
	}
	var raw []byte
	if s.codec != nil {
		if raw, err = s.codec.Open(recordAAD(rk), v); err != nil {
			return nil, nil
		}
	} else {
		raw = []byte(v)
	}
	out := new(session.Session)
	if err := out.UnmarshalBinary(raw); err != nil {
		return nil, nil
	}
	out.ID = id
	return out, nil
}

// Set stores s until expires (as a TTL computed from [Options.Now]),
// replacing any record with the same ID, and lists it in the index sets of
// its issuer's sid and subject, whose TTL is extended to the longest
// member's. The record is replaced atomically (a Lua script on its key),
// so a concurrent Get sees the old or the new record, never none. The
// record and the index are written in one MULTI on a standalone client
// (in one pipeline, index first, on a cluster, so that a failure leaves at
// most a stale member, never an unindexed record). An
// expires not after now deletes the record instead. The ID itself is not
// stored: the key is its SHA-256.
//
// A record whose sid or subject changes stays listed under the old one as
// a stale member; stale members are harmless (DeleteBySID and
// DeleteBySubject check each record before deleting it) and are pruned
// when a set grows past 64, 128, 256… members, so a set stays within
// about twice its live members.
func (s *Store) Set(ctx context.Context, sess *session.Session, expires time.Time) error {
	if sess == nil {
		return errors.New("redisstore: set: nil session")
	}
	now := s.now()
	if !expires.After(now) {
		if err := s.Delete(ctx, sess.ID); err != nil {
			return fmt.Errorf("redisstore: set: %w", err)
		}
		return nil
	}
	rk := s.recordKey(sess.ID)
	rec := *sess
	rec.ID = ""
	data, err := rec.MarshalBinary()
	if err != nil {
		return fmt.Errorf("redisstore: set: %w", err)
	}
	var val any = data
	if s.codec != nil {
		sealed, err := s.codec.Seal(recordAAD(rk), data)
		if err != nil {
			return fmt.Errorf("redisstore: set: %w", err)
		}
		val = sealed
	}
	ms := millis(expires.Sub(now))
	xk, uk := s.sidKey(sess.Issuer, sess.SID), s.subKey(sess.Issuer, sess.Subject)

	var pipe redis.Pipeliner
	if s.tx {
		pipe = s.c.TxPipeline()
	} else {
		pipe = s.c.Pipeline()
	}
	type indexed struct {
		key, field string
		card       *redis.IntCmd
	}
	var sets []indexed
	for _, ix := range []struct{ key, field string }{{xk, fieldSID}, {uk, fieldSub}} {
		if ix.key == "" {
			continue
		}
		pipe.SAdd(ctx, ix.key, rk)
		pipe.Do(ctx, "pexpire", ix.key, ms, "nx") // a new set
		pipe.Do(ctx, "pexpire", ix.key, ms, "gt") // a longer-lived member
		sets = append(sets, indexed{ix.key, ix.field, pipe.SCard(ctx, ix.key)})
	}
	pipe.Eval(ctx, writeRecord, []string{rk}, val, xk, uk, ms)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("redisstore: set: %w", err)
	}
	for _, ix := range sets {
		if n := ix.card.Val(); n >= pruneMin && n&(n-1) == 0 {
			// Housekeeping only: the record is stored. A failed prune is
			// retried when the set doubles again.
			_ = s.prune(ctx, ix.key, ix.field)
		}
	}
	return nil
}

// prune removes from the index set key the members whose record no longer
// names key in field (deleted, expired, or moved to another sid or
// subject).
func (s *Store) prune(ctx context.Context, key, field string) error {
	members, err := s.c.SMembers(ctx, key).Result()
	if err != nil || len(members) == 0 {
		return err
	}
	pipe := s.c.Pipeline()
	cmds := make([]*redis.StringCmd, len(members))
	for i, m := range members {
		cmds[i] = pipe.HGet(ctx, m, field)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) && !redis.HasErrorPrefix(err, "WRONGTYPE") {
		return err
	}
	var stale []any
	for i, c := range cmds {
		if v, err := c.Result(); err != nil || v != key {
			if err != nil && !errors.Is(err, redis.Nil) && !redis.HasErrorPrefix(err, "WRONGTYPE") {
				return err
			}
			stale = append(stale, members[i])
		}
	}
	if len(stale) == 0 {
		return nil
	}
	return s.c.SRem(ctx, key, stale...).Err()
}

// Delete removes the session with the given ID. Deleting a missing ID is
// not an error. Its index entries become stale members (see Set).
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := s.c.Del(ctx, s.recordKey(id)).Err(); err != nil {
		return fmt.Errorf("redisstore: delete: %w", err)
	}
	return nil
}

// DeleteBySID removes every session of the issuer's provider session sid,
// whichever replica stored it, and returns how many live sessions it
// removed (OpenID Connect Back-Channel Logout 1.0 §2.7). Each listed
// record is deleted only if it still carries that sid.
func (s *Store) DeleteBySID(ctx context.Context, iss, sid string) (int, error) {
	n, err := s.deleteIndexed(ctx, s.sidKey(iss, sid), fieldSID)
	if err != nil {
		return n, fmt.Errorf("redisstore: delete by sid: %w", err)
	}
	return n, nil
}

// DeleteBySubject removes every session of the issuer's subject sub and
// returns how many live sessions it removed. Each listed record is deleted
// only if it still carries that subject.
func (s *Store) DeleteBySubject(ctx context.Context, iss, sub string) (int, error) {
	n, err := s.deleteIndexed(ctx, s.subKey(iss, sub), fieldSub)
	if err != nil {
		return n, fmt.Errorf("redisstore: delete by subject: %w", err)
	}
	return n, nil
}

// deleteIndexed deletes the records listed in the index set key that
// still name it in field. The members are left in the set: a record
// written again by a request racing the deletion must stay indexed, and
// the set expires with its longest-lived member anyway.
func (s *Store) deleteIndexed(ctx context.Context, key, field string) (int, error) {
	if key == "" {
		return 0, nil
	}
	members, err := s.c.SMembers(ctx, key).Result()
	if err != nil {
		return 0, err
	}
	if len(members) == 0 {
		return 0, nil
	}
	pipe := s.c.Pipeline()
	cmds := make([]*redis.Cmd, len(members))
	for i, m := range members {
		cmds[i] = pipe.Eval(ctx, delIfIndexed, []string{m}, field, key)
	}
	_, err = pipe.Exec(ctx)
	n := 0
	for _, c := range cmds {
		if v, cerr := c.Int64(); cerr == nil {
			n += int(v)
		}
	}
	return n, err
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/switchboard/switchboard/internal/sqlitefile"
)

// migrations turn a store of schema version i into version i+1; a store
// is at version len(migrations) once migrated. Only ever append: a
// released migration is never edited.
var migrations = []string{
	// 1: calls (with their orbit) and legs.
	`CREATE TABLE meta (
		key   TEXT PRIMARY KEY,
		value INTEGER NOT NULL
	) STRICT;
	INSERT INTO meta (key, value) VALUES ('generation', 0);
	CREATE TABLE calls (
		id            TEXT PRIMARY KEY,
		state         TEXT NOT NULL CHECK (state <> ''),
		orbit         INTEGER UNIQUE CHECK (orbit > 0),
		token         TEXT NOT NULL,
		parker        TEXT NOT NULL,
		for_uri       TEXT NOT NULL,
		note          TEXT NOT NULL,
		caller_name   TEXT NOT NULL,
		caller_uri    TEXT NOT NULL,
		parked_at     INTEGER NOT NULL,
		returned_at   INTEGER NOT NULL,
		ringback_at   INTEGER NOT NULL,
		ringbacks     INTEGER NOT NULL,
		ring_target   TEXT NOT NULL,
		ring_since    INTEGER NOT NULL,
		ring_fallback INTEGER NOT NULL,
		retriever     TEXT NOT NULL
	) STRICT;
	CREATE TABLE legs (
		id            TEXT PRIMARY KEY,
		call          TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
		state         TEXT NOT NULL CHECK (state <> ''),
		role          TEXT NOT NULL CHECK (role IN ('uas', 'uac')),
		partner       TEXT NOT NULL,
		sip_call_id   TEXT NOT NULL,
		local_tag     TEXT NOT NULL,
		remote_tag    TEXT NOT NULL,
		local_uri     TEXT NOT NULL,
		remote_uri    TEXT NOT NULL,
		remote_target TEXT NOT NULL,
		local_contact TEXT NOT NULL,
		route_set     TEXT NOT NULL,
		local_cseq    INTEGER NOT NULL,
		remote_cseq   INTEGER NOT NULL,
		transport     TEXT NOT NULL,
		source        TEXT NOT NULL,
		rtp_local     TEXT NOT NULL,
		rtp_remote    TEXT NOT NULL,
		rtp_latched   TEXT NOT NULL,
		latched_ssrc  INTEGER NOT NULL,
		codec         INTEGER NOT NULL,
		send_pt       INTEGER NOT NULL,
		recv_pt       INTEGER NOT NULL,
		send_event_pt INTEGER NOT NULL,
		recv_event_pt INTEGER NOT NULL,
		mute          INTEGER NOT NULL,
		ssrc          INTEGER NOT NULL,
		seq           INTEGER NOT NULL,
		ts            INTEGER NOT NULL,
		sdp_session   INTEGER NOT NULL,
		sdp_version   INTEGER NOT NULL,
		sdp           BLOB NOT NULL
	) STRICT;
	CREATE INDEX legs_by_call ON legs (call);`,
	// 2: when a leg's sender position was read, so that a restart after
	// a crash can tell how far the sender has gone since.
	`ALTER TABLE legs ADD COLUMN position_at INTEGER NOT NULL DEFAULT 0;`,
}

// migrate brings db's schema to the newest version in one transaction;
// a store newer than this code is refused with a *SchemaError.
func migrate(ctx context.Context, db *sql.DB) error {
	err := sqlitefile.Migrate(ctx, db, migrations)
	if se := (*sqlitefile.SchemaError)(nil); errors.As(err, &se) {
		return &SchemaError{Found: se.Found, Known: se.Known}
	}
	if err != nil {
		return fmt.Errorf("park store: %w", err)
	}
	return nil
}

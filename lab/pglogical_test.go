package lab

import "testing"

// The expected names were read from real pglogical 2.4.8 labs (the
// CREATE_REPLICATION_SLOT line in the provider's log).
func TestPglogicalSlotNameMatchesPglogicals(t *testing.T) {
	for _, tc := range []struct{ db, provider, sub, want string }{
		{"postgres", "primary2", "sub_from_primary2", "pgl_postgres_primary2_sub_from92cfd70"},
		{"postgres", "primary1", "sub_from_primary1", "pgl_postgres_primary1_sub_from29f9f4e"},
	} {
		if got := PglogicalSlotName(tc.db, tc.provider, tc.sub); got != tc.want {
			t.Errorf("PglogicalSlotName(%q, %q, %q) = %q, want %q", tc.db, tc.provider, tc.sub, got, tc.want)
		}
	}
}

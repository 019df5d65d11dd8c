package node

import "testing"

func TestPeer(t *testing.T) {
	if Peer(Primary1) != Primary2 || Peer(Primary2) != Primary1 {
		t.Errorf("Peer(%s) = %s, Peer(%s) = %s", Primary1, Peer(Primary1), Primary2, Peer(Primary2))
	}
	if got := Targets(); len(got) != 3 || got[2] != HAProxy {
		t.Errorf("Targets() = %v", got)
	}
}

func TestPrimariesOf(t *testing.T) {
	got := PrimariesOf(3)
	if len(got) != 3 || got[0] != Primary1 || got[1] != Primary2 || got[2] != "primary3" {
		t.Errorf("PrimariesOf(3) = %v", got)
	}
	five := TargetsOf(5)
	if len(five) != 6 || five[4] != "primary5" || five[5] != HAProxy {
		t.Errorf("TargetsOf(5) = %v", five)
	}
	if got := Others(five[:5], "primary3"); len(got) != 4 || got[2] != "primary4" {
		t.Errorf("Others = %v", got)
	}
	for name, want := range map[string]int{"primary1": 1, "primary5": 5, "primary12": 12, "primary0": 0, "primary01": 0, "primary": 0, "haproxy": 0, "primary-1": 0, "Primary1": 0} {
		i, ok := PrimaryIndex(name)
		if i != want || ok != (want > 0) {
			t.Errorf("PrimaryIndex(%q) = %d, %v; want %d", name, i, ok, want)
		}
	}
}

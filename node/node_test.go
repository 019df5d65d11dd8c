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

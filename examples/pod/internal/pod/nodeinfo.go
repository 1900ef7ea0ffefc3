package pod

import (
	"context"
	"time"
	"unicode/utf8"
)

// The pods page shows what each pod runs. After a delivery succeeds the
// pod asks that pod's NodeInfo (/.well-known/nodeinfo) if it has not in
// nodeInfoAge, through the discovery client (so with its address guard,
// size caps and timeouts), one pod at a time.
const (
	nodeInfoAge     = 24 * time.Hour
	nodeInfoTimeout = 15 * time.Second
	nodeInfoBatch   = 16
	nodeInfoCheck   = time.Hour // also look without a wake-up this often
)

// runNodeInfo asks the NodeInfo of pods that took a delivery and are
// due, whenever a delivery succeeded, until ctx ends.
func (p *Pod) runNodeInfo(ctx context.Context) {
	t := time.NewTicker(nodeInfoCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.nodeInfoWake:
		case <-t.C:
		}
		p.askNodeInfo(ctx)
		sleep(ctx, p.cfg.Poll) // a burst of deliveries wakes this at most once per poll
	}
}

// askNodeInfo asks every due pod once.
func (p *Pod) askNodeInfo(ctx context.Context) {
	for ctx.Err() == nil {
		hosts, err := p.store.NodeInfoDue(ctx, time.Now().Add(-nodeInfoAge), nodeInfoBatch)
		if err != nil {
			if ctx.Err() == nil {
				p.log.ErrorContext(ctx, "listing pods for NodeInfo", "err", err)
			}
			return
		}
		if len(hosts) == 0 {
			return
		}
		for _, h := range hosts {
			cctx, cancel := context.WithTimeout(ctx, nodeInfoTimeout)
			ni, err := p.disc.NodeInfo(cctx, h)
			cancel()
			if ctx.Err() != nil {
				return
			}
			var name, version string
			if err == nil {
				name, version = clip(ni.Software.Name, 64), clip(ni.Software.Version, 64)
			} else {
				p.log.InfoContext(ctx, "a pod's NodeInfo could not be read", "host", h, "err", err)
			}
			if err := p.store.SetNodeInfo(ctx, h, name, version, err == nil); err != nil {
				p.log.ErrorContext(ctx, "storing a pod's NodeInfo", "host", h, "err", err)
				return
			}
		}
	}
}

// clip cuts s to at most n bytes at a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

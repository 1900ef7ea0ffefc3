package pod

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// Settings a podmin changes on the dashboard; they win over the flags.
// The web interface keeps its own (the pod's name, registrations, rules);
// these are the ones the core applies when it creates an account.
const (
	// SettingDefaultAspects holds the aspects of new users, one per line.
	SettingDefaultAspects = "default_aspects"
	// SettingAutofollow holds the username of the local account every
	// new user starts sharing with ("" for none), like diaspora*'s
	// autofollow_on_join_user. Config.Autofollow is the default.
	SettingAutofollow = "autofollow"
)

// DefaultAspects returns the aspects a new user gets.
func (p *Pod) DefaultAspects(ctx context.Context) ([]string, error) {
	v, ok, err := p.store.Setting(ctx, SettingDefaultAspects)
	if err != nil || !ok {
		return store.DefaultAspects, err
	}
	return store.ParseAspectNames(v)
}

// Autofollow returns the username new users start sharing with, "" for
// none.
func (p *Pod) Autofollow(ctx context.Context) (string, error) {
	v, ok, err := p.store.Setting(ctx, SettingAutofollow)
	if err != nil || !ok {
		return p.cfg.Autofollow, err
	}
	return v, nil
}

// SetAccountDefaults stores the default aspects of new users (one per
// line or comma-separated) and the account they start sharing with (a
// local username, "" for none).
func (p *Pod) SetAccountDefaults(ctx context.Context, aspects, autofollow string) error {
	names, err := store.ParseAspectNames(aspects)
	if err != nil {
		return err
	}
	autofollow = strings.ToLower(strings.TrimSpace(autofollow))
	if autofollow != "" {
		if _, err := p.store.UserByName(ctx, autofollow); err != nil {
			return fmt.Errorf("%w: no local account is named %q", store.ErrInvalid, autofollow)
		}
	}
	if err := p.store.SetSetting(ctx, SettingDefaultAspects, strings.Join(names, "\n")); err != nil {
		return err
	}
	return p.store.SetSetting(ctx, SettingAutofollow, autofollow)
}

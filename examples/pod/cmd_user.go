package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/go-diaspora/federation/examples/pod/internal/pod"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// userAdd creates a local person. The password comes from --password,
// else from a terminal (asked twice, not echoed) or one line of a pipe.
func userAdd(ctx context.Context, e *cmdEnv, name string) error {
	pw := e.o.password
	if pw == "" {
		var err error
		if pw, err = readNewPassword(e.stdin, e.stderr, name); err != nil {
			return err
		}
	}
	p, err := pod.NewPod(ctx, e.o.config(slog.New(slog.DiscardHandler)))
	if err != nil {
		return err
	}
	defer p.Close()
	id, err := p.AddUser(ctx, name, pw)
	if err != nil {
		return err
	}
	if e.o.admin.on() {
		if err := p.Store().SetAdmin(ctx, strings.ToLower(strings.TrimSpace(name)), true); err != nil {
			return err
		}
		if err := p.Store().Audit(ctx, "", "user admin", strings.ToLower(strings.TrimSpace(name)), "user add --admin"); err != nil {
			return err
		}
	}
	fmt.Fprintln(e.stdout, id)
	return nil
}

// setAdmin is pod user admin NAME [--remove]: the same change as the
// dashboard's button, in the same audit log.
func setAdmin(ctx context.Context, e *cmdEnv, a []string) error {
	name := strings.ToLower(a[0])
	return withStore(ctx, e.o, func(s *store.Store) error {
		err := s.SetAdmin(ctx, name, !e.o.remove)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no local user %q", name)
		}
		if err != nil {
			return err
		}
		action := "user admin"
		if e.o.remove {
			action = "user unadmin"
		}
		return s.Audit(ctx, "", action, name, "pod user admin")
	})
}

// readNewPassword reads a new password: on a terminal without echo and
// twice, from anything else one line.
func readNewPassword(stdin io.Reader, prompt io.Writer, name string) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fd := int(f.Fd())
		fmt.Fprintf(prompt, "password for %s: ", name)
		first, err := term.ReadPassword(fd)
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		fmt.Fprintf(prompt, "again, to be sure: ")
		second, err := term.ReadPassword(fd)
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		if string(first) != string(second) {
			return "", errors.New("the two passwords differ; nothing was created")
		}
		return string(first), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func setSuspended(suspended bool) func(context.Context, *cmdEnv, []string) error {
	return func(ctx context.Context, e *cmdEnv, a []string) error {
		name := strings.ToLower(a[0])
		return withStore(ctx, e.o, func(s *store.Store) error {
			err := s.SetSuspended(ctx, name, suspended)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no local user %q", name)
			}
			if err != nil {
				return err
			}
			action := "user suspend"
			if !suspended {
				action = "user unsuspend"
			}
			return s.Audit(ctx, "", action, name, "pod "+action)
		})
	}
}

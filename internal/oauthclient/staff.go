package oauthclient

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/staff"
)

// What staff do with clients in the console (/console/clients): the same
// registration as the command line's, and deletion with a written reason,
// each an event with the staff member as actor. Every method checks
// staff.PermManageClients first (admins), so no page can forget it.

// MaxReason bounds the written reason of a deletion, in characters (as the
// desk's actions on accounts).
const MaxReason = 1000

// FieldReason is the field of a deletion's written reason.
const FieldReason = "reason"

// Reason checks a deletion's written reason: required (field_required)
// and at most MaxReason characters after trimming (field_too_long, with
// max); it returns it trimmed.
func Reason(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", ninsho.FieldError(ninsho.CodeFieldRequired, FieldReason)
	case utf8.RuneCountInString(s) > MaxReason:
		return "", ninsho.FieldError(ninsho.CodeFieldTooLong, FieldReason).WithParam("max", MaxReason)
	}
	return s, nil
}

// CreateAs registers a client for a staff member who may manage clients
// (else ninsho.CodeForbidden, before the registration is read), as Create
// does: the event oauth_client.created has the actor "staff:<id>", data
// "staff", and the request's address, browser and id.
func (s *Service) CreateAs(ctx context.Context, p *staff.Principal, req ninsho.Request, n New) (*Client, string, error) {
	if err := p.Require(staff.PermManageClients); err != nil {
		return nil, "", err
	}
	return s.create(ctx, by{staff: p.Staff, req: req}, n)
}

// ListAs returns the clients of each realm in turn, each realm's oldest
// first, for a staff member who may manage clients.
func (s *Service) ListAs(ctx context.Context, p *staff.Principal, realms ...string) ([]Client, error) {
	if err := p.Require(staff.PermManageClients); err != nil {
		return nil, err
	}
	var out []Client
	for _, rl := range realms {
		list, err := s.Store.Clients(ctx, rl)
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
	}
	return out, nil
}

// GetAs returns the client for a staff member who may manage clients, or
// ninsho.CodeNotFound.
func (s *Service) GetAs(ctx context.Context, p *staff.Principal, realm, id string) (*Client, error) {
	if err := p.Require(staff.PermManageClients); err != nil {
		return nil, err
	}
	return s.Store.ClientByID(ctx, realm, id)
}

// DeleteAs deletes the client for a staff member who may manage clients,
// with a written reason (Reason), and records oauth_client.deleted with the
// actor "staff:<id>", data "staff" and "reason", and the request's address,
// browser and id. An unknown client is ninsho.CodeNotFound.
func (s *Service) DeleteAs(ctx context.Context, p *staff.Principal, req ninsho.Request, realm, id, why string) error {
	if err := p.Require(staff.PermManageClients); err != nil {
		return err
	}
	why, err := Reason(why)
	if err != nil {
		return err
	}
	return s.delete(ctx, by{staff: p.Staff, req: req}, realm, id, map[string]any{"reason": why})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

package main

// The -o mount options of 'veilfs mount': what veilfs does with each one.
// The same list is what mount(8) hands a mount helper (mounthelper.go),
// with the options field of an /etc/fstab line in it, so besides the
// options meant for veilfs and for the kernel it carries bookkeeping of
// mount(8) and systemd that no filesystem is meant to see (nofail,
// x-systemd.automount, ...). Those are dropped here rather than passed on:
// the kernel's FUSE mount refuses options it does not know, and the mount
// would fail.
//
//	veilfs      ro, rw, allow_other, passfile=FILE, keyfile=FILE, masterkey-file=FILE,
//	            reverse, exclude-from=FILE, veilfs_suid, veilfs_dev, acl
//	dropped     defaults auto noauto user users nouser owner group nofail _netdev
//	            _rnetdev user=* comment=* x-* X-*; suid and dev (see below)
//	default     relatime diratime nostrictatime loud: what a new mount does
//	            anyway; FUSE's mount(2) refuses them by name
//	warned      iversion noiversion silent: dropped with a warning, a veilfs
//	            mount cannot apply them yet
//	refused     extpass=, masterkey= (secrets and commands do not belong in
//	            the mount table), nosymfollow, mand
//	kernel      everything else, as is: default_permissions, noatime, nodev,
//	            nosuid, noexec, exec, sync, dirsync, lazytime, ...; the atime
//	            options (noatime, nodiratime, strictatime, norelatime) become
//	            mount flags (as root; fusermount3 sets only noatime), and the
//	            daemon reads CIPHERDIR without updating access times where
//	            they say so (fs/atime.go)
//
// suid and dev are dropped because they cannot be told from mount.fuse3's
// defaults: as root it appends "dev,suid" to every mount whose options do
// not say nodev or nosuid, so an fstab line without them reaches us as
// "...,dev,suid", exactly as one that asks for them. Honouring them let
// whoever writes CIPHERDIR plant a setuid-root program for every user of
// the machine. The opt-in is veilfs's own: --suid/--dev, or veilfs_suid
// and veilfs_dev, which no helper appends.

import (
	"fmt"
	"strings"
)

// mountOptionsHelp is the part of the mount usage that lists the -o
// options; TestMountOptionsHelp keeps it in step with classifyMountOption.
const mountOptionsHelp = `Mount options:
  Given with -o, or in the options field of an fstab line; comma-separated.
  ro, rw                       read-only, read-write (the last one wins)
  allow_other                  as --allow-other
  passfile=FILE                as --passfile; a mount from fstab needs it, or keyfile=
  keyfile=FILE                 as --keyfile
  masterkey-file=FILE          as --masterkey-file
  reverse                      as --reverse
  exclude-from=FILE            as --exclude-from (repeatable)
  veilfs_suid, veilfs_dev      as --suid, --dev
  acl                          as --acl
  default_permissions, noatime, nodev, nosuid, noexec, sync, dirsync, ...
                               passed on to the kernel (unknown options too)
  suid, dev                    ignored: mount.fuse3 adds them to every mount, so
                               they cannot mean a choice (the mount is always
                               nosuid,nodev unless veilfs_suid or veilfs_dev)
  defaults, auto, noauto, user, users, nouser, owner, group, nofail, _netdev,
  comment=..., x-systemd.*, x-gvfs-*, other x-* and X-*
                               for mount(8), fstab and systemd: ignored
  strictatime, nodiratime, norelatime
                               mount flags, as noatime (as root: fusermount3 sets
                               only noatime); access times are those of the files
                               in CIPHERDIR, updated as its filesystem does
                               (relatime, as a rule) except where noatime or
                               nodiratime say not to
  relatime, diratime           ignored: a new mount has them anyway
  iversion, silent             ignored, and veilfs says so: it cannot apply them yet
  extpass=, masterkey=, nosymfollow, mand
                               refused (a command or a key does not belong in the
                               mount table: use passfile=)
`

// optionAction is what veilfs does with one -o option.
type optionAction int

const (
	optKernel      optionAction = iota // passed to the kernel (or fusermount3) as is
	optVeilfs                          // applied by veilfs itself
	optIgnored                         // bookkeeping of mount(8), fstab or systemd: dropped
	optDefault                         // the kernel's default, refused by name: dropped
	optUnsupported                     // cannot be applied yet: dropped with a warning
	optRefused                         // an error
)

// classifyMountOption says what happens to opt ("name" or "name=value").
func classifyMountOption(opt string) optionAction {
	name, _, _ := strings.Cut(opt, "=")
	switch name {
	case "ro", "rw", "allow_other", "passfile", "keyfile", "masterkey-file", "reverse", "exclude-from",
		"veilfs_suid", "veilfs_dev", "acl":
		return optVeilfs
	case "defaults", "auto", "noauto", "user", "users", "nouser", "owner", "group",
		"nofail", "_netdev", "_rnetdev", "comment":
		return optIgnored
	case "suid", "dev":
		// mount.fuse3's defaults as much as anyone's wish: see the file comment.
		return optIgnored
	case "relatime", "diratime", "nostrictatime", "loud":
		return optDefault
	case "iversion", "noiversion", "silent":
		return optUnsupported
	case "extpass", "masterkey", "nosymfollow", "mand":
		return optRefused
	}
	if strings.HasPrefix(name, "x-") || strings.HasPrefix(name, "X-") {
		return optIgnored
	}
	return optKernel
}

// applyMountOptions goes through the -o lists of o in order, so that a
// later option wins as with mount(8) (ro,rw is read-write): ro, rw,
// allow_other and the unlock options set o's fields. It returns what is
// left for the kernel, and warnings about options it dropped.
func applyMountOptions(o *mountFlags) (kernel, warnings []string, err error) {
	for _, list := range o.options {
		for _, opt := range strings.Split(list, ",") {
			opt = strings.TrimSpace(opt)
			if opt == "" {
				continue
			}
			switch classifyMountOption(opt) {
			case optKernel:
				kernel = append(kernel, opt)
			case optVeilfs:
				if err := applyVeilfsOption(o, opt); err != nil {
					return nil, nil, err
				}
			case optUnsupported:
				warnings = append(warnings, fmt.Sprintf("mount option %s is ignored: veilfs cannot apply it to its mounts yet", opt))
			case optRefused:
				return nil, nil, refusedOption(opt)
			}
		}
	}
	return kernel, warnings, nil
}

func applyVeilfsOption(o *mountFlags, opt string) error {
	name, value, hasValue := strings.Cut(opt, "=")
	switch name {
	case "ro":
		o.readOnly = true
	case "rw":
		o.readOnly = false
	case "allow_other":
		o.allowOther = true
	case "passfile":
		return setOnce(&o.unlock.password.passfile, name, value, hasValue)
	case "keyfile":
		return setOnce(&o.unlock.keyfile, name, value, hasValue)
	case "masterkey-file":
		return setOnce(&o.unlock.masterKeyFile, name, value, hasValue)
	case "reverse":
		o.reverse = true
	case "veilfs_suid":
		o.suid = true
	case "veilfs_dev":
		o.dev = true
	case "acl":
		o.acl = true
	case "exclude-from":
		if !hasValue || value == "" {
			return failf(errUsage, nil, "mount option exclude-from needs a file: exclude-from=FILE")
		}
		o.excludeFrom = append(o.excludeFrom, value)
		return nil
	}
	if hasValue {
		return failf(errUsage, []string{"write it without a value: " + name}, "mount option %s takes no value", opt)
	}
	return nil
}

// setOnce sets the unlock option name (a file path) from -o, refusing a
// second value: which of two files was meant is a guess.
func setOnce(field *string, name, value string, hasValue bool) error {
	if !hasValue || value == "" {
		return failf(errUsage, []string{"write " + name + "=FILE"}, "mount option %s needs a file name", name)
	}
	if *field != "" {
		return failf(errUsage, []string{"give it once, either as --" + name + " or as -o " + name + "=FILE"},
			"%s is given twice (%s and %s)", name, *field, value)
	}
	*field = value
	return nil
}

func refusedOption(opt string) error {
	name, _, _ := strings.Cut(opt, "=")
	switch name {
	case "extpass":
		return failf(errUsage, []string{
			"put the password in a file readable only by root and give passfile=FILE, or run 'veilfs mount --extpass CMD' from a script or a systemd unit",
		}, "mount option extpass= is not accepted: a command cannot be written safely in a comma-separated option list, which also shows in the mount table and in ps")
	case "masterkey":
		return failf(errUsage, []string{"put the master key in a file readable only by root and give masterkey-file=FILE"},
			"mount option masterkey= is not accepted: the key would show in the mount table and in ps")
	}
	return failf(errUsage, []string{"remove " + name + " from the mount options"},
		"mount option %s is not supported by veilfs", name)
}

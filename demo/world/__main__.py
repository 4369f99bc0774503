"""python -m demo.world serve|truth|config: browse the replay world by hand, or write its truth/config."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .config import write_config
from .content import STATES
from .server import DEFAULT_BASE_PORT, ReplayWorld


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m demo.world", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("serve", "truth", "config"):
        sub = commands.add_parser(name)
        sub.add_argument(
            "--base-port",
            type=int,
            default=DEFAULT_BASE_PORT,
            help="first port; outlets take consecutive ports (0 = pick free ports)",
        )
        sub.add_argument("--scale", type=int, default=0, help="extra generated articles")
        sub.add_argument("--seed", type=int, default=20251124)
        sub.add_argument(
            "--state", type=int, choices=STATES, default=1, help="3: state 2 with four outlets broken"
        )
        if name != "serve":
            sub.add_argument("--out", type=Path, required=True, help="file (truth) or directory (config)")
    return parser


def _serve(world: ReplayWorld) -> None:
    for name, url in {**world.outlets, **world.discovered_outlets}.items():
        print(f"{url}/  {name}")
    print(f"{world.gdelt_url}?query=cartels%20mexico&mode=ArtList&format=json  query API")
    print(f"state {world.state}; Ctrl-C to stop", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with ReplayWorld(base_port=args.base_port or None, scale=args.scale, seed=args.seed) as world:
        world.set_state(args.state)
        if args.command == "serve":
            _serve(world)
        elif args.command == "truth":
            args.out.write_text(json.dumps(world.truth(), indent=1, ensure_ascii=False), encoding="utf-8")
        else:
            print(write_config(world, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

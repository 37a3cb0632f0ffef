#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Placeholder: builds libperf from linux-source (being written).
echo "build-libperf: not written yet" >&2
exit 1

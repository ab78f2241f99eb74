"""The classic Python pattern volley replaces: one aiohttp.ClientSession, one
task per URL, asyncio.gather, a semaphore bounding concurrency, a try/except
per URL, one JSON line per URL.

Usage: python3 aiohttp_gather.py URLS_FILE OUT_FILE CONCURRENCY [PER_HOST]
"""

import asyncio
import json
import sys
import time

import aiohttp


async def fetch(session, sem, index, url):
    async with sem:
        start = time.perf_counter()
        try:
            async with session.get(url) as response:
                body = await response.read()
                return {
                    "index": index,
                    "url": url,
                    "status": response.status,
                    "bytes": len(body),
                    "elapsed_ms": (time.perf_counter() - start) * 1000,
                }
        except Exception as e:  # one failure never stops the batch
            return {
                "index": index,
                "url": url,
                "error": repr(e),
                "elapsed_ms": (time.perf_counter() - start) * 1000,
            }


async def main(urls_file, out_file, concurrency, per_host):
    with open(urls_file) as f:
        urls = [line.strip() for line in f if line.strip()]
    sem = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=per_host)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        results = await asyncio.gather(
            *(fetch(session, sem, i, url) for i, url in enumerate(urls))
        )
    with open(out_file, "w") as out:
        for record in results:
            out.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    per_host = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), per_host))

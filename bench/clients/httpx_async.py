"""httpx's AsyncClient with the same shape as aiohttp_gather.py: one client,
asyncio.gather over all URLs, a semaphore bounding concurrency, a try/except
per URL, one JSON line per URL.

Usage: python3 httpx_async.py URLS_FILE OUT_FILE CONCURRENCY
"""

import asyncio
import json
import sys
import time

import httpx


async def fetch(client, sem, index, url):
    async with sem:
        start = time.perf_counter()
        try:
            response = await client.get(url)
            body = response.content  # AsyncClient.get reads the whole body
            return {
                "index": index,
                "url": url,
                "status": response.status_code,
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


async def main(urls_file, out_file, concurrency):
    with open(urls_file) as f:
        urls = [line.strip() for line in f if line.strip()]
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(
        max_connections=concurrency, max_keepalive_connections=concurrency
    )
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:
        results = await asyncio.gather(
            *(fetch(client, sem, i, url) for i, url in enumerate(urls))
        )
    with open(out_file, "w") as out:
        for record in results:
            out.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))

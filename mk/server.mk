# mk/server.mk -- partkv-server, the DynamoDB HTTP endpoint (server/), included
# by the Makefile after PGXS.  `make` builds it beside the extension, `make
# install` puts it in PostgreSQL's bindir (pg_config --bindir).
#
# Libraries, all from Debian: libmicrohttpd (HTTP), libpq, jansson (JSON
# validation), OpenSSL's libcrypto (SigV4's SHA-256 and HMAC), zlib (CRC32).

PARTKV_SERVER = server/partkv-server
PARTKV_SERVER_SRCS = $(sort $(wildcard server/*.c))
PARTKV_SERVER_OBJS = $(PARTKV_SERVER_SRCS:.c=.o)
PARTKV_SERVER_CFLAGS = -std=gnu11 -O2 -g -Wall -Wextra -pthread $(if $(WERROR),-Werror) -I$(shell $(PG_CONFIG) --includedir)
PARTKV_SERVER_LIBS = -L$(shell $(PG_CONFIG) --libdir) -lpq -lmicrohttpd -ljansson -lcrypto -lz -pthread

all: $(PARTKV_SERVER)

$(PARTKV_SERVER_OBJS): server/%.o: server/%.c server/server.h
	$(CC) $(PARTKV_SERVER_CFLAGS) -c -o $@ $<

$(PARTKV_SERVER): $(PARTKV_SERVER_OBJS)
	$(CC) -o $@ $^ $(PARTKV_SERVER_LIBS)

install: install-partkv-server
.PHONY: install-partkv-server
install-partkv-server: $(PARTKV_SERVER)
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) $(PARTKV_SERVER) '$(DESTDIR)$(bindir)/partkv-server'

uninstall: uninstall-partkv-server
.PHONY: uninstall-partkv-server
uninstall-partkv-server:
	rm -f '$(DESTDIR)$(bindir)/partkv-server'

clean: clean-partkv-server
.PHONY: clean-partkv-server
clean-partkv-server:
	rm -f $(PARTKV_SERVER) $(PARTKV_SERVER_OBJS)

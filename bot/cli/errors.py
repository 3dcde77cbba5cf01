"""Every way a command can fail, said in one line of Chinese, and the exit code it ends with.

Exit codes (README, 退出码): 0 done; 1 done but something is wrong (verify found altered files, inspect found
problems, a mailbox failed, a mail could not be sent) or the command could not finish (a file it cannot write, a
database it cannot reach, a message that does not exist); 2 the command line or the configuration is wrong; 3 a
fault of the program (run again with -v for its traceback and report it); 130 interrupted (Ctrl-C).

click words its own errors in English ("Missing option '--month'"); they are said again here in Chinese from
what each exception carries (the parameter, its type, the option name, the close matches).
"""

from __future__ import annotations

import errno
import logging
import re
import sys
from collections.abc import Callable

import click

from parsers.errors import ConfigError, InputError, MailroomError
from scoring.settings import typed_month

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
_CJK = re.compile(r"[\u3400-\u9fff]")
_QUOTED = re.compile(r"""^(?:\w+ )?('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")
_EXTRA = re.compile(r"\((.*)\)$")
_ERRNO = {
    errno.ENOENT: "没有这个文件或文件夹",
    errno.EACCES: "没有权限",
    errno.EPERM: "不允许这样做",
    errno.EISDIR: "这是一个文件夹",
    errno.ENOTDIR: "路径中有一段不是文件夹",
    errno.ENOSPC: "磁盘空间不足",
    errno.EROFS: "只读文件系统",
    errno.EEXIST: "已经存在",
    errno.ENAMETOOLONG: "名称太长",
}
log = logging.getLogger(__name__)


def run_reporting_errors(run: Callable[[], object]) -> int:
    """Run a command (click's main in non-standalone mode) and turn whatever stops it into one line on stderr
    and an exit code."""
    try:
        result = run()
    except ConfigError as error:
        return _say(f"配置错误 (config error): {error}", EXIT_USAGE)
    except InputError as error:
        return _say(f"用法错误 (usage error): {error}", EXIT_USAGE)
    except MailroomError as error:
        return _say(f"错误 (error): {error}", EXIT_FAILED)
    except click.UsageError as error:
        if isinstance(error, click.exceptions.NoArgsIsHelpError):
            error.show()
            return EXIT_USAGE
        return _say(f"用法错误 (usage error): {usage_message(error)}{_help_hint(error)}", EXIT_USAGE)
    except click.FileError as error:
        return _say(f"错误 (error): 无法打开文件 {error.ui_filename}：{error.message}", EXIT_FAILED)
    except click.ClickException as error:
        return _say(f"错误 (error): {_chinese_or(error.message, '命令未能完成')}", error.exit_code)
    except (click.Abort, KeyboardInterrupt):
        return _say("已中断 (interrupted)", EXIT_INTERRUPTED)
    except OSError as error:
        return _say(f"错误 (error): {os_error_message(error)}", EXIT_FAILED)
    except Exception as error:
        if _is_database_error(error):
            log.debug("database error", exc_info=True)
            return _say(f"数据库错误 (database error): {database_message(error)}", EXIT_FAILED)
        # a bug: one line here, the traceback with -v
        log.info("internal error", exc_info=True)
        return _say(
            f"内部错误 (internal error): {type(error).__name__}: {_first_line(error)}"
            "（加 -v 重新运行可看到详细信息，请报告给维护者）",
            EXIT_INTERNAL,
        )
    return result if isinstance(result, int) and not isinstance(result, bool) else EXIT_OK


def database_message(error: Exception) -> str:
    """A database error in one line: what it means and what to do when the operator can act on it (a full disk,
    a lock another program holds: archive.db.database_problem), else the driver's own first line."""
    from archive.db import database_problem, driver_says

    return database_problem(error) or driver_says(error)


def _is_database_error(error: Exception) -> bool:
    """An error of SQLAlchemy's, without importing SQLAlchemy when no command did (`--help` starts faster)."""
    exc = sys.modules.get("sqlalchemy.exc")
    return exc is not None and isinstance(error, exc.SQLAlchemyError)


def usage_message(error: click.UsageError) -> str:
    """click's usage error in Chinese, from what the exception carries."""
    if isinstance(error, click.MissingParameter):
        kind = "选项" if isinstance(error.param, click.Option) else "参数"
        return f"缺少{kind} {_param_name(error.param)}" if error.param else "缺少参数"
    if isinstance(error, click.BadParameter):
        if error.param:
            where = f"{'选项' if isinstance(error.param, click.Option) else '参数'} {_param_name(error.param)}"
        else:  # raised by a command's own check, naming the option by its hint ("--level")
            hint = error.param_hint if isinstance(error.param_hint, str) else None
            where = f"{'选项' if hint and hint.startswith('-') else '参数'} {hint}" if hint else "参数"
        return f"{where} 的值不对：{bad_value(error)}"
    if isinstance(error, click.exceptions.NoSuchCommand):
        return f"没有 {error.command_name} 这个命令" + _did_you_mean(error.possibilities)
    if isinstance(error, click.NoSuchOption):
        return f"没有 {error.option_name} 这个选项" + _did_you_mean(error.possibilities)
    if isinstance(error, click.BadOptionUsage):
        if "does not take a value" in error.message:
            return f"选项 {error.option_name} 后面不带值"
        return f"选项 {error.option_name} 后面要写一个值"
    extra = _EXTRA.search(error.message) if error.message.startswith("Got unexpected extra") else None
    if extra:
        return f"多余的参数：{extra.group(1)}"
    if error.message.startswith("Missing command"):
        return "缺少命令"
    return _chinese_or(error.message, "命令行写法不对")


def bad_value(error: click.BadParameter) -> str:
    """What a parameter's value should have been, and what it was; our own messages are Chinese already (click's
    quoting a value typed in Chinese is not: File '附件.xlsx' does not exist)."""
    quoted = _QUOTED.match(error.message)
    if _CJK.search(error.message[quoted.end() :] if quoted else error.message):
        return error.message
    kind = error.param.type if error.param else None
    given = f"，而不是 {quoted.group(1)}" if quoted else ""
    if isinstance(kind, click.Choice):
        return f"应为 {'、'.join(map(str, kind.choices))} 之一{given}"
    if isinstance(kind, click.DateTime):
        return f"应为日期，写作 {'或'.join(_pattern(f) for f in kind.formats)}{given}"
    if isinstance(kind, click.IntRange | click.FloatRange):
        return f"应为{_range(kind.min, kind.max)}的数{given}"
    if isinstance(kind, click.types.IntParamType):
        return f"应为整数{given}"
    if isinstance(kind, click.types.FloatParamType):
        return f"应为数字{given}"
    if isinstance(kind, click.types.BoolParamType):
        return f"应为 true 或 false{given}"
    if isinstance(kind, click.Path):
        return _path_problem(error.message, quoted.group(1) if quoted else "")
    return f"不是有效的值{given}"


def os_error_message(error: OSError) -> str:
    """ "无法写入 /proc/nope/digest.html：没有这个文件或文件夹" from an OSError, in the reader's words."""
    reason = _ERRNO.get(error.errno or -1) or error.strerror or type(error).__name__
    name = error.filename if error.filename is not None else ""
    return f"{name}：{reason}" if name else reason


def _path_problem(message: str, given: str) -> str:
    for words, said in (
        ("does not exist", "不存在"),
        ("is a directory", "是文件夹，这里要的是文件"),
        ("is a file", "是文件，这里要的是文件夹"),
        ("not readable", "没有读取权限"),
        ("not writable", "没有写入权限"),
    ):
        if words in message:
            return f"{given} {said}".strip()
    return f"路径不可用 {given}".strip()


def _range(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f" {low}–{high} "
    return f" ≥ {low} " if low is not None else f" ≤ {high} "


def _pattern(strftime: str) -> str:
    return (
        strftime.replace("%Y", "YYYY")
        .replace("%m", "MM")
        .replace("%d", "DD")
        .replace("%H", "HH")
        .replace("%M", "mm")
        .replace("%S", "SS")
    )


def _param_name(param: click.Parameter) -> str:
    if isinstance(param, click.Option):
        return max(param.opts, key=len)
    return param.human_readable_name


def _did_you_mean(possibilities: list[str] | None) -> str:
    return f"（是不是 {'、'.join(possibilities)}？）" if possibilities else ""


def _help_hint(error: click.UsageError) -> str:
    return f"（用法见 {error.ctx.command_path} --help）" if error.ctx is not None else ""


def _chinese_or(message: str, fallback: str) -> str:
    return message if _CJK.search(message) else f"{fallback}：{message}"


def _first_line(error: object) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else ""


def _say(line: str, code: int) -> int:
    click.echo(line, err=True)
    return code


def month_param(_ctx: click.Context | None, _param: click.Parameter | None, value: str | None) -> str | None:
    """A --month option's callback: "YYYY-MM" of a real month, else a usage error saying how to write it."""
    if value is None:
        return None
    try:
        return typed_month(value)  # 2020/5, 2020年5月 as 2020-05
    except ValueError:
        raise click.BadParameter(f"月份应写作 YYYY-MM，例如 2020-05，而不是 {value!r}") from None
